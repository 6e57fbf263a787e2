import ArgumentParser
import Foundation
import RecoveryCore

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Set up a new appliance: data directory, master key, database, clinic and first admin.",
        discussion: """
        Creates the data directory (mode 0700), a new master key file (32 random bytes, \
        mode 0600; never overwrites an existing one), the database with every migration \
        applied, the facility, and its first administrator account.

        If --admin-password is not given, a strong password is generated and printed once; \
        the administrator must replace it with their own at first sign-in.

        Running init again on an initialised directory says so and changes nothing.

        IMPORTANT: copy the master key file to safe offline storage (a USB stick in a safe, \
        a password manager). Without it the encrypted records cannot be read by anyone, \
        and backups do not contain it.
        """)

    @OptionGroup var common: CommonOptions

    @Option(help: "The clinic's name.")
    var facilityName: String = "Recovery Clinic"

    @Option(help: "The clinic's IANA time zone, e.g. America/Chicago (days sober count in it).")
    var timezone: String = TimeZone.current.identifier

    @Option(help: "Email address the first administrator logs in with.")
    var adminEmail: String = "admin@clinic.local"

    @Option(help: "The administrator's first name.")
    var adminFirstName: String = "Clinic"

    @Option(help: "The administrator's last name.")
    var adminLastName: String = "Administrator"

    @Option(help: ArgumentHelp("The administrator's password (12+ characters). Omit it to have one generated.",
                               discussion: "Prefer leaving it out: a password on the command line can end up in shell history."))
    var adminPassword: String?

    @Option(help: ArgumentHelp("Who must use an authenticator app at sign-in: none, admins or all_staff.",
                               discussion: "With admins (the default) the first administrator sets it up at first sign-in."))
    var mfaPolicy: String = "admins"

    func run() async throws {
        restrictNewFiles()
        try await explained {
            let settings = try common.settings()
            let outcome = try await ApplianceSetup.initialise(settings: settings, request: .init(
                facilityName: facilityName, timezone: timezone, adminEmail: adminEmail,
                adminFirstName: adminFirstName, adminLastName: adminLastName, adminPassword: adminPassword,
                mfaPolicy: mfaPolicy))
            switch outcome {
            case .alreadyInitialised:
                print("\(settings.dataDirectory) is already initialised; nothing was changed.")
            case .created(let created):
                print("""
                Initialised Recovery Appliance in \(settings.dataDirectory)
                  database:    \(settings.databasePath) (schema version \(created.schemaVersion))
                  master key:  \(settings.resolvedKeyFile)  <- BACK THIS FILE UP NOW; without it the data is unreadable
                  facility:    \(facilityName) (\(created.facilityID))
                  admin login: \(adminEmail)
                """)
                if let generated = created.generatedPassword {
                    print("  admin password (shown once; replace it at first sign-in): \(generated)")
                }
                print("Start the server with: recovery-server serve --data-dir \(settings.dataDirectory)")
            }
        }
    }
}

/// New files (database, WAL, key) readable by this user only.
func restrictNewFiles() {
    umask(0o077)
}
