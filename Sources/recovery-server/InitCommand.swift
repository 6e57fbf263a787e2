import ArgumentParser
import Foundation
import RecoveryCore

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Set up a new appliance: data directory, master key, database, clinic, first admin and HTTPS certificate.",
        discussion: """
        Creates the data directory (mode 0700), a new master key file (32 random bytes, \
        mode 0600; never overwrites an existing one), the database with every migration \
        applied, the facility, its first administrator account, and a self-signed HTTPS \
        certificate (ECDSA P-256) for this machine's names and addresses, with its key \
        (tls-cert.pem, tls-key.pem; settings server.tls.cert_file, server.tls.key_file). \
        It prints the certificate's SHA-256 fingerprint for the desktop apps to pin.

        If --admin-password is not given, a strong password is generated and printed once; \
        the administrator must replace it with their own at first sign-in.

        Running init again on an initialised directory says so and changes nothing, \
        except that it creates the HTTPS certificate if none is there yet. It never \
        overwrites a key or certificate.

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

    @Option(name: .customLong("tls-name"),
            help: ArgumentHelp("Another host name or IP address the HTTPS certificate is for (repeatable).",
                               discussion: "The certificate always covers this machine's host name, localhost and its addresses.",
                               valueName: "name"))
    var tlsNames: [String] = []

    func run() async throws {
        restrictNewFiles()
        try await explained {
            let settings = try common.settings()
            let names = try LANCertificate.Names.ofThisHost(adding: tlsNames)
            let outcome = try await ApplianceSetup.initialise(settings: settings, request: .init(
                facilityName: facilityName, timezone: timezone, adminEmail: adminEmail,
                adminFirstName: adminFirstName, adminLastName: adminLastName, adminPassword: adminPassword,
                mfaPolicy: mfaPolicy))
            let certificate = try ApplianceSetup.ensureCertificate(settings: settings, names: names)
            switch (outcome, certificate) {
            case (.alreadyInitialised, .created):
                print("\(settings.dataDirectory) is already initialised; it had no HTTPS certificate, so one was made. Nothing else was changed.")
            case (.alreadyInitialised, _):
                print("\(settings.dataDirectory) is already initialised; nothing was changed.")
            case (.created(let created), _):
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
            }
            switch certificate {
            case .created(let file, let fingerprint, let names):
                print("""
                  HTTPS certificate: \(file) (self-signed, for \(names.joined(separator: ", ")))
                  certificate SHA-256 fingerprint (pin it in the desktop apps; `recovery-server tls fingerprint` shows it again):
                    \(fingerprint)
                """)
            case .existing(let file, let fingerprint):
                print("  HTTPS certificate: \(file) (already there, unchanged), SHA-256 fingerprint \(fingerprint)")
            case .plainHTTP:
                print("  HTTPS: server.tls.cert_file is empty, so no certificate was made; serve allows plain HTTP on loopback only")
            }
            if case .created = outcome {
                print("Start the server with: recovery-server serve --data-dir \(settings.dataDirectory)")
            }
        }
    }
}

/// New files (database, WAL, key) readable by this user only.
func restrictNewFiles() {
    umask(0o077)
}
