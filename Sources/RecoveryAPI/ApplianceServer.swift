import Hummingbird
import HummingbirdTLS
import Logging
import RecoveryCore
import ServiceLifecycle

/// Runs the HTTP server until SIGTERM or SIGINT, then shuts down in order:
/// the server stops accepting, in-flight requests finish (up to
/// `server.shutdown_grace_seconds`), and last the database is checkpointed
/// and closed.
public enum ApplianceServer {
    /// Serves HTTPS with `tls` (see `ServerTLS`), else plain HTTP.
    public static func run(_ appliance: Appliance, tls: TLSConfiguration?, logger: Logger) async throws {
        let realtime = Realtime(appliance: appliance, logger: logger)
        let app = try buildApplication(appliance, tls: tls, realtime: realtime, logger: logger)
        let federation = FederationSchedule()
        let riskWatch = RiskWatch(appliance: appliance)
        var configuration = ServiceGroupConfiguration(
            services: [
                .init(service: DatabaseService(appliance: appliance, logger: logger)),
                // A PASSIVE checkpoint every second on the database's own
                // checkpoint connection keeps the WAL short; no request waits for it.
                .init(service: PeriodicService(failure: "checkpoint failed", interval: .seconds(1), logger: logger) {
                    try await appliance.database.checkpoint()
                }),
                // Sessions' latest requests, for the idle limit after a restart: once a minute.
                .init(service: PeriodicService(failure: "saving session activity failed", interval: .seconds(60), logger: logger) {
                    try await AuthService(appliance: appliance).saveSessionActivity()
                }),
                // List cards for patients from before they existed (0005), at start and then hourly.
                .init(service: PeriodicService(failure: "patient card upkeep failed", interval: .seconds(3_600), logger: logger) {
                    try await appliance.fillMissingPatientCards()
                }),
                // Realtime events older than the resume window, at start and then hourly.
                .init(service: PeriodicService(failure: "event feed pruning failed", interval: .seconds(3_600), logger: logger) {
                    _ = try await appliance.database.pool.write { db in try EventFeed.prune(in: db) }
                }),
                // Patients who have gone quiet, at start and then hourly.
                .init(service: PeriodicService(failure: "silence scan failed", interval: .seconds(3_600), logger: logger) {
                    try await SilenceWatch(appliance: appliance).scan()
                }),
                // Relapse-risk scores: patients with new records every 5 seconds, everyone hourly.
                .init(service: PeriodicService(failure: "risk scoring failed", interval: .seconds(5), logger: logger) { [riskWatch] in
                    try await riskWatch.tick()
                }),
                // Crisis escalations and scheduled announcements whose time has come
                // (timers live in the database, so a restart loses none): every second.
                .init(service: PeriodicService(failure: "crisis clock failed", interval: .seconds(1), logger: logger) {
                    try await CrisisClock(appliance: appliance).tick()
                }),
                // A master-key rotation run by `recovery-server keys rotate`: noticed within a
                // second, so new data is written under the new key version (a one-row read);
                // the versions held (or why a reload failed) are reported in the database for
                // `keys rotate` to wait on, and in /api/v1/ready and /metrics.
                .init(service: PeriodicService(failure: "master key reload failed", interval: .seconds(1), logger: logger) {
                    try await appliance.reloadKeysAndReport()
                }),
                // The server's own backups (backup.schedule): a missed one at start, then as scheduled.
                .init(service: PeriodicService(failure: "scheduled backup failed", interval: .seconds(30), logger: logger) {
                    try await appliance.backups.runIfDue()
                }),
                // A clinic's federation outbox: queue what is due every federation.interval_seconds,
                // send pending payloads whose backoff has passed (checked every 5 seconds).
                .init(service: PeriodicService(failure: "federation delivery failed", interval: .seconds(5), logger: logger) {
                    try await federation.tick(appliance, transport: FederationHTTP.transport)
                }),
                .init(service: app),
                // Last in the list, so first to stop: its sockets close before the server waits for open requests.
                .init(service: realtime),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(appliance.settings.shutdownGraceSeconds)
        try await ServiceGroup(configuration: configuration).run()
    }
}

/// Background upkeep: runs `work` at start and then every `interval` until
/// shutdown. A failure is logged by its type only and tried again next time.
struct PeriodicService: Service {
    let failure: Logger.Message
    let interval: Duration
    let logger: Logger
    let work: @Sendable () async throws -> Void

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                try await work()
            } catch {
                logger.error(failure, metadata: ["error_type": .string(String(describing: type(of: error)))])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

/// Keeps the database open while the server runs and closes it cleanly
/// after the server has stopped (services shut down in reverse order),
/// once the audit head file holds the last entry.
/// Its key report is withdrawn first, so `keys rotate` sees at once that no
/// server is running.
struct DatabaseService: Service {
    let appliance: Appliance
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        try? await appliance.withdrawKeyReport()
        appliance.auditAnchor.flush()
        do {
            try appliance.database.close()
            logger.info("database closed cleanly")
        } catch {
            logger.error("database close failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
        }
    }
}
