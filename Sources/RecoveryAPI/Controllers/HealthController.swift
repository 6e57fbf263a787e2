import Hummingbird
import RecoveryCore

/// `GET /api/v1/health`: is the server up and its database usable. Answers
/// 503 with the same body when the database does not answer, so a monitor
/// can tell "process up, storage broken" from "all well".
///
/// `GET /api/v1/ready`: may it take work — 503 naming each reason while
/// migrations are pending, the master key does not match the database, a
/// key rotation's new key could not be loaded, or the disk is below `storage.min_free_bytes` (a load balancer or systemd
/// watchdog looks here; `health` stays the liveness check).
struct HealthController {
    let appliance: Appliance

    struct Health: Codable, Sendable {
        struct DatabaseStatus: Codable, Sendable {
            var ok: Bool
            var schemaVersion: Int?
            var expectedSchemaVersion: Int
        }
        var status: String
        var version: String
        var mode: String
        var database: DatabaseStatus
        var uptimeSeconds: Int
    }

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/api/v1/health", public: { _, _ in try await health() }),
            Endpoint(.get, "/api/v1/ready", public: { _, _ in try await ready() }),
        ]
    }

    struct Readiness: Codable, Sendable {
        struct Check: Codable, Sendable {
            var name: String
            var ok: Bool
            var reason: String?
        }
        var status: String
        var checks: [Check]
        var freeBytes: Int64?
        var minFreeBytes: Int64
    }

    static let keyReloadFailed = "a key version could not be loaded; see the server log or `recovery-server keys status`"

    func ready() async throws -> Response {
        var checks: [Readiness.Check] = []
        let pending = try? await appliance.database.pendingMigrationsNow()
        checks.append(.init(name: "database", ok: pending != nil, reason: pending == nil ? "the database does not answer" : nil))
        if let pending {
            checks.append(.init(name: "migrations", ok: pending.isEmpty,
                                reason: pending.isEmpty ? nil : "\(pending.count) migrations are pending"))
        }
        let keyMatches = await appliance.masterKeyMatchesDatabase()
        checks.append(.init(name: "master_key", ok: keyMatches,
                            reason: keyMatches ? nil : "the loaded master key does not match the database's key check"))
        // Public, so the reason stays generic: the failure names key files (the log, `keys status` and server_key_ring keep it).
        let reloadFails = appliance.keyReload.failure != nil
        checks.append(.init(name: "master_key_reload", ok: !reloadFails,
                            reason: reloadFails ? Self.keyReloadFailed : nil))
        let disk = appliance.diskSpace
        let free = disk.freeBytes
        let room = !disk.isNearlyFull
        checks.append(.init(name: "disk", ok: room, reason: room ? nil
                            : "the data directory's disk has \(free ?? 0) bytes free, less than storage.min_free_bytes (\(disk.minimumFreeBytes))"))
        let ok = checks.allSatisfy(\.ok)
        return try JSONBody.response(Readiness(status: ok ? "ready" : "not_ready", checks: checks, freeBytes: free,
                                               minFreeBytes: disk.minimumFreeBytes),
                                     status: ok ? .ok : .serviceUnavailable)
    }

    func health() async throws -> Response {
        let ok = await appliance.database.isHealthy()
        let version = ok ? try? await appliance.database.currentSchemaVersion() : nil
        let body = Health(
            status: ok ? "ok" : "degraded",
            version: RecoveryVersion.current,
            mode: appliance.settings.mode.rawValue,
            database: .init(ok: ok && version != nil, schemaVersion: version, expectedSchemaVersion: Migration.latestVersion),
            uptimeSeconds: appliance.uptimeSeconds)
        return try JSONBody.response(body, status: ok ? .ok : .serviceUnavailable)
    }
}
