import Foundation
import GRDB
import Testing
@testable import RecoveryCore

@Suite struct ApplianceSetupTests {
    static let request = ApplianceSetup.InitRequest(
        facilityName: "Harbor Light Clinic", timezone: "America/Chicago", adminEmail: "Director@HarborLight.org",
        adminFirstName: "Rosalind", adminLastName: "Featherstonehaugh", adminPassword: "tidal harbor lantern 42")

    func initialise(_ settings: Settings, _ request: ApplianceSetup.InitRequest = Self.request) async throws -> ApplianceSetup.InitOutcome {
        try await ApplianceSetup.initialise(settings: settings, request: request, passwordCost: .minimum)
    }

    @Test func initCreatesAPrivateDirectoryKeyAndDatabase() async throws {
        let dir = TemporaryDirectory()
        let settings = testSettings(dir)
        guard case .created(let created) = try await initialise(settings) else { Issue.record("not created"); return }
        #expect(created.generatedPassword == nil)
        #expect(created.schemaVersion == Migration.latestVersion)
        let fm = FileManager.default
        #expect((try fm.attributesOfItem(atPath: settings.dataDirectory)[.posixPermissions] as? Int) == 0o700)
        #expect((try fm.attributesOfItem(atPath: settings.resolvedKeyFile)[.posixPermissions] as? Int) == 0o600)

        let (appliance, applied) = try Appliance.open(settings: settings, passwordCost: .minimum)
        #expect(applied.isEmpty)
        let counts = try await appliance.database.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM facilities")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM staff WHERE role = 'admin'")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM facility_triggers")!)
        }
        #expect(counts == (1, 1, 10))
        let store = StaffStore(cipher: appliance.cipher, blindIndex: appliance.blindIndex)
        let account = try await appliance.database.pool.read { db in try store.account(email: "director@harborlight.ORG", in: db) }
        #expect(account?.id == created.adminID)
        #expect(try await appliance.passwords.verify("tidal harbor lantern 42", against: account?.passwordHash))
        // A password the administrator chose on the command line is theirs to keep.
        #expect(account?.mustChangePassword == false)
    }

    @Test func aSecondInitChangesNothing() async throws {
        let dir = TemporaryDirectory()
        let settings = testSettings(dir)
        _ = try await initialise(settings)
        let key = FileManager.default.contents(atPath: settings.resolvedKeyFile)
        let database = databaseBytes(settings)
        var other = Self.request
        other.adminEmail = "someone.else@example.org"
        #expect(try await initialise(settings, other) == .alreadyInitialised)
        #expect(FileManager.default.contents(atPath: settings.resolvedKeyFile) == key)
        #expect(databaseBytes(settings) == database)
    }

    @Test func aGeneratedPasswordIsReturnedOnceAndWorks() async throws {
        let dir = TemporaryDirectory()
        let settings = testSettings(dir)
        var request = Self.request
        request.adminPassword = nil
        guard case .created(let created) = try await initialise(settings, request),
              let password = created.generatedPassword else { Issue.record("no password"); return }
        let (appliance, _) = try Appliance.open(settings: settings, passwordCost: .minimum)
        let store = StaffStore(cipher: appliance.cipher, blindIndex: appliance.blindIndex)
        let account = try await appliance.database.pool.read { db in try store.account(email: Self.request.adminEmail, in: db) }
        #expect(try await appliance.passwords.verify(password, against: account?.passwordHash))
        #expect(!databaseBytes(settings).contains(text: password))
        // It was printed on a terminal: the administrator must replace it at first sign-in.
        #expect(account?.mustChangePassword == true)
        #expect(appliance.pendingPasswordChanges.contains(created.adminID))
    }

    @Test(arguments: [
        ("admin_password", "short"), ("admin_password", "password1234"), ("admin_email", "not-an-email"),
        ("timezone", "Mars/Olympus"), ("facility_name", "   "), ("admin_first_name", ""),
    ])
    func badInputIsRefusedBeforeAnythingIsWritten(field: String, value: String) async throws {
        let dir = TemporaryDirectory()
        let settings = testSettings(dir)
        var request = Self.request
        switch field {
        case "admin_password": request.adminPassword = value
        case "admin_email": request.adminEmail = value
        case "timezone": request.timezone = value
        case "facility_name": request.facilityName = value
        default: request.adminFirstName = value
        }
        do {
            _ = try await initialise(settings, request)
            Issue.record("accepted bad \(field)")
        } catch let error as ApplianceError {
            guard case .invalidInput(let named, _) = error else { Issue.record("\(error)"); return }
            #expect(named == field)
        }
        #expect(!FileManager.default.fileExists(atPath: settings.dataDirectory))
    }

    @Test func withoutItsKeyTheApplianceRefusesToOpenAndMakesNoNewKey() async throws {
        let dir = TemporaryDirectory()
        let settings = testSettings(dir)
        _ = try await initialise(settings)
        try FileManager.default.removeItem(atPath: settings.resolvedKeyFile)
        #expect(throws: CryptoError.masterKeyMissing(path: settings.resolvedKeyFile)) {
            try Appliance.open(settings: settings, passwordCost: .minimum)
        }
        #expect(!FileManager.default.fileExists(atPath: settings.resolvedKeyFile))
        #expect(try await initialise(settings) == .alreadyInitialised)
        #expect(!FileManager.default.fileExists(atPath: settings.resolvedKeyFile))
    }

    @Test func anotherBoxsKeyIsRecognisedAsWrong() async throws {
        let dir = TemporaryDirectory()
        let settings = testSettings(dir)
        _ = try await initialise(settings)
        try FileManager.default.removeItem(atPath: settings.resolvedKeyFile)
        _ = try MasterKey.create(at: settings.resolvedKeyFile)
        #expect(throws: ApplianceError.wrongMasterKey(keyFile: settings.resolvedKeyFile)) {
            try Appliance.open(settings: settings, passwordCost: .minimum)
        }
    }

    /// Only a database whose init never finished lacks the key check; any
    /// key would pass an absent check, so nothing starts on it.
    @Test func aDatabaseWithoutItsKeyCheckIsRefusedLikeAWrongKey() async throws {
        let dir = TemporaryDirectory()
        let settings = testSettings(dir)
        _ = try await initialise(settings)
        let database = try AppDatabase(settings: settings)
        try await database.pool.write { db in try db.execute(sql: "DELETE FROM settings WHERE scope = 'box' AND key = ?", arguments: [KeyCheck.settingKey]) }
        try database.close()
        // Its own key and any other key alike.
        for replaceKey in [false, true] {
            if replaceKey {
                try FileManager.default.removeItem(atPath: settings.resolvedKeyFile)
                _ = try MasterKey.create(at: settings.resolvedKeyFile)
            }
            #expect(throws: ApplianceError.keyCheckMissing(dataDirectory: settings.dataDirectory)) {
                try Appliance.open(settings: settings, passwordCost: .minimum)
            }
            #expect(throws: ApplianceError.keyCheckMissing(dataDirectory: settings.dataDirectory)) {
                try ApplianceSetup.verifyAudit(settings: settings)
            }
        }
        #expect(try await AppDatabase(settings: settings).pool.read { db in try BoxSetting.get(KeyCheck.settingKey, in: db) } == nil)
        #expect(ApplianceError.keyCheckMissing(dataDirectory: settings.dataDirectory).description.contains("never completely initialised"))
    }

    @Test func anUninitialisedDirectoryIsExplained() {
        let dir = TemporaryDirectory()
        let settings = testSettings(dir)
        #expect(throws: ApplianceError.notInitialised(dataDirectory: settings.dataDirectory)) {
            try Appliance.open(settings: settings, passwordCost: .minimum)
        }
        #expect(throws: ApplianceError.notInitialised(dataDirectory: settings.dataDirectory)) {
            try ApplianceSetup.migrate(settings: settings)
        }
    }

    @Test func noPHIOrPasswordIsStoredInPlainText() async throws {
        let dir = TemporaryDirectory()
        let settings = testSettings(dir)
        _ = try await initialise(settings)
        let (appliance, _) = try Appliance.open(settings: settings, passwordCost: .minimum)
        #expect(try await DemoData.seed(appliance) != .alreadySeeded)
        var secrets = ["Rosalind", "Featherstonehaugh", "director@harborlight.org", "Director@HarborLight.org", "tidal harbor lantern",
                       DemoData.superAdminEmail, DemoData.superAdminPassword, DemoData.staffPassword]
        for patient in DemoData.patients { secrets += [patient.first, patient.last, patient.dob] }
        for member in DemoData.staff { secrets += [member.email, member.last] }
        let raw = databaseBytes(settings)
        #expect(raw.count > 100_000)
        // Strings under 5 bytes turn up in a megabyte of ciphertext by chance
        // ("Doe" about once in 16 runs), so only longer ones prove anything.
        for secret in secrets where secret.utf8.count >= 5 {
            #expect(!raw.contains(text: secret), "found \(secret) in the database files")
        }
    }

    @Test func demoSeedingIsRepeatableAndFlagsTheDefaultPassword() async throws {
        let dir = TemporaryDirectory()
        let settings = testSettings(dir)
        #expect(try await ApplianceSetup.prepareDemo(settings: settings))
        #expect(try await !ApplianceSetup.prepareDemo(settings: settings))
        let (appliance, _) = try Appliance.open(settings: settings, passwordCost: .minimum)
        #expect(try await DemoData.seed(appliance) == .alreadySeeded)
        #expect(try await DemoData.accountsWithDocumentedPasswords(appliance) == DemoData.accounts.map(\.email))
        let patients = try await appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM patients") }
        #expect(patients == DemoData.patients.count)
    }
}
