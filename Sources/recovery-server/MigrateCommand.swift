import ArgumentParser
import Foundation
import RecoveryCore

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations and print what was applied.",
        discussion: """
        Each migration runs in its own transaction and is recorded. `serve` also applies \
        pending migrations at start-up; run this to upgrade deliberately (after a backup). \
        A database migrated by a newer recovery-server is refused, never downgraded.
        """)

    @OptionGroup var common: CommonOptions

    func run() async throws {
        restrictNewFiles()
        try await explained {
            let settings = try common.settings()
            let applied = try ApplianceSetup.migrate(settings: settings)
            if applied.isEmpty {
                print("Schema is up to date (version \(Migration.latestVersion)); nothing to apply.")
            } else {
                for identifier in applied { print("applied \(identifier)") }
                print("Schema is now at version \(Migration.latestVersion).")
            }
        }
    }
}
