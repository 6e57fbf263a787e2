import CoreMetrics
import Foundation
import Metrics
import Prometheus
import RecoveryCore

/// The process's metrics in Prometheus text format (`GET /metrics`).
/// Counters and histograms are recorded through swift-metrics wherever they
/// happen (requests by Hummingbird's `MetricsMiddleware`, group commits and
/// sync items in the core); `serve` bootstraps swift-metrics with a
/// swift-prometheus factory over `registry`. Levels that are cheaper to read
/// than to track (WAL size, sockets, the federation queue, backup age, a
/// deferred backup, free disk) are read when scraped.
public enum ApplianceMetrics {
    /// The one registry of the process.
    public static let registry = PrometheusCollectorRegistry()

    /// Routes swift-metrics into `registry`. Call once, before the server starts.
    public static func bootstrap() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        ]
        factory.valueHistogramBuckets = ["recovery_group_commit_batch_size": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1_024, 2_048]]
        MetricsSystem.bootstrap(factory)
    }

    /// The text of a scrape: the levels read now, then everything recorded.
    public static func scrape(_ appliance: Appliance, realtime: Realtime?) async -> String {
        let settings = appliance.settings
        let walBytes = fileSize(settings.databasePath + "-wal")
        registry.makeGauge(name: "recovery_wal_bytes", help: "Size of the SQLite write-ahead log").set(Double(walBytes ?? 0))
        registry.makeGauge(name: "recovery_database_bytes", help: "Size of the SQLite database file")
            .set(Double(fileSize(settings.databasePath) ?? 0))
        registry.makeGauge(name: "recovery_realtime_sockets", help: "Connected Socket.IO clients")
            .set(Double(realtime?.io.connectedCount ?? 0))
        let queued = try? await appliance.database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM federation_outbox WHERE status <> 'sent'")
        }
        registry.makeGauge(name: "recovery_federation_queue", help: "Federation messages waiting to be sent")
            .set(Double(queued.flatMap { $0 } ?? 0))
        let newest = appliance.backups.newestVerified()
        registry.makeGauge(name: "recovery_backup_age_seconds", help: "Age of the newest verified backup in backup.dir; -1 when there is none")
            .set(newest.map { Date().timeIntervalSince($0) } ?? -1)
        registry.makeGauge(name: "recovery_backup_deferred_seconds", help: "How long a due scheduled backup has waited for a running keys rotate; 0 when none waits")
            .set(appliance.backups.deferredSince.map { max(0, Date().timeIntervalSince($0)) } ?? 0)
        registry.makeGauge(name: "recovery_disk_free_bytes", help: "Free space on the data directory's file system")
            .set(Double(appliance.diskSpace.freeBytes ?? 0))
        registry.makeGauge(name: "recovery_master_key_version", help: "The master-key version the server encrypts under")
            .set(Double(appliance.keyRing.currentVersion))
        registry.makeGauge(name: "recovery_master_key_reload_failing", help: "1 while the server cannot load the master-key versions the database lists")
            .set(appliance.keyReload.failure == nil ? 0.0 : 1.0)
        registry.makeGauge(name: "recovery_uptime_seconds", help: "Seconds since the server started").set(Double(appliance.uptimeSeconds))
        return registry.emitToString()
    }

    static func fileSize(_ path: String) -> Int64? {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : nil
    }
}
