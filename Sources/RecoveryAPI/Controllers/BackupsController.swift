import Hummingbird
import RecoveryCore

/// `GET /api/v1/admin/backups`: the backups in `backup.dir`, newest first,
/// with their state (running, verified, failed, unverified), and the
/// schedule. Read-only: backups are written by the schedule or the
/// `recovery-server backup` command.
struct BackupsController {
    let appliance: Appliance

    var endpoints: [Endpoint] {
        [Endpoint(.get, "/api/v1/admin/backups", access: .staff(.applianceOperate), handler: list)]
    }

    struct Listing: Encodable {
        var data: [ScheduledBackups.Entry]
        var schedule: String
        var directory: String
        var keepDaily: Int
        var keepWeekly: Int
        var newestVerifiedAt: String?
    }

    @Sendable func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let backups = appliance.backups
        let entries = try backups.entries()
        let settings = appliance.settings
        return try JSONBody.response(Listing(
            data: entries, schedule: settings.backupSchedule.description, directory: settings.resolvedBackupDirectory,
            keepDaily: settings.backupKeepDaily, keepWeekly: settings.backupKeepWeekly,
            newestVerifiedAt: backups.newestVerified().map(Timestamp.string)))
    }
}
