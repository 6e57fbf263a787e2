import ArgumentParser
import Foundation
import RecoveryCore

@main
struct RecoveryServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recovery-server",
        abstract: "Recovery Appliance: the clinic's self-contained records server.",
        discussion: """
        Typical first run on a new box:
          recovery-server init --data-dir /var/lib/recovery-appliance --admin-email you@clinic.org
          recovery-server serve --data-dir /var/lib/recovery-appliance
        Back up the master key file (see `init --help`): without it the data cannot be read.
        """,
        version: RecoveryVersion.current,
        subcommands: [InitCommand.self, MigrateCommand.self, ServeCommand.self, SeedCommand.self, AuditCommand.self, TLSCommand.self, BackupCommand.self, RestoreCommand.self, FederationCommand.self, KeysCommand.self, RiskCommand.self]
    )
}
