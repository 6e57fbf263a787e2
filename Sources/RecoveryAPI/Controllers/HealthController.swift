import Hummingbird
import RecoveryCore

/// `GET /api/v1/health`: is the server up and its database usable. Answers
/// 503 with the same body when the database does not answer, so a monitor
/// can tell "process up, storage broken" from "all well".
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
        [Endpoint(.get, "/api/v1/health", public: { _, _ in try await health() })]
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
