import Foundation
import GRDB

/// Operator actions on a data directory: `init`, `migrate`, and the demo's
/// first-run set-up. Kept here, not in the executable, so tests drive them.
public enum ApplianceSetup {
    public struct InitRequest: Sendable {
        public var facilityName: String
        public var timezone: String
        public var adminEmail: String
        public var adminFirstName: String
        public var adminLastName: String
        /// nil: generate one and report it once.
        public var adminPassword: String?
        /// Who must use a second factor: none, admins, all_staff.
        public var mfaPolicy: String

        public init(facilityName: String, timezone: String, adminEmail: String,
                    adminFirstName: String, adminLastName: String, adminPassword: String?, mfaPolicy: String = "admins") {
            self.mfaPolicy = mfaPolicy
            self.facilityName = facilityName
            self.timezone = timezone
            self.adminEmail = adminEmail
            self.adminFirstName = adminFirstName
            self.adminLastName = adminLastName
            self.adminPassword = adminPassword
        }
    }

    public struct Created: Sendable, Equatable {
        public var facilityID: String
        public var adminID: String
        public var schemaVersion: Int
        public var generatedPassword: String?
    }

    public enum InitOutcome: Sendable, Equatable {
        case alreadyInitialised
        case created(Created)
    }

    /// Initialises an empty data directory. On an initialised one it changes
    /// nothing. Inputs are all checked before anything is written.
    public static func initialise(settings: Settings, request: InitRequest,
                                  passwordCost: PasswordHasher.Cost = .interactive) async throws -> InitOutcome {
        if FileManager.default.fileExists(atPath: settings.databasePath) { return .alreadyInitialised }

        try Facility.validate(name: request.facilityName, timezone: request.timezone)
        guard Facility.mfaPolicies.contains(request.mfaPolicy) else {
            throw ApplianceError.invalidInput(field: "mfa_policy", reason: "must be one of: " + Facility.mfaPolicies.joined(separator: ", "))
        }
        try StaffProfile.validate(email: request.adminEmail, firstName: request.adminFirstName, lastName: request.adminLastName)
        let password = request.adminPassword ?? PasswordPolicy.generate()
        if let problem = PasswordPolicy(settings: settings).problem(with: password, email: request.adminEmail) {
            throw ApplianceError.invalidInput(field: "admin_password", reason: problem)
        }

        let (database, key) = try prepareStorage(settings: settings)
        let hasher = PasswordHasher(cost: passwordCost, threads: 1)
        let hash = try await hasher.hash(password)
        let staffStore = StaffStore(cipher: FieldCipher(masterKey: key), blindIndex: BlindIndex(masterKey: key))
        let facility = Facility(name: request.facilityName.trimmingCharacters(in: .whitespacesAndNewlines), timezone: request.timezone,
                                mfaPolicy: request.mfaPolicy)
        let adminID = try await database.pool.write { db -> String in
            try facility.insert(db)
            try FacilityDefaults.install(for: facility.id, in: db)
            // Central's first account is the super admin who enrols clinics and reads their metrics.
            let central = settings.mode == .central
            let id = try staffStore.insert(.init(
                facilityID: central ? nil : facility.id, role: central ? .superAdmin : .admin, email: request.adminEmail,
                firstName: request.adminFirstName, lastName: request.adminLastName, passwordHash: hash), in: db)
            // A generated password was printed on a terminal: the administrator replaces it at first sign-in.
            if request.adminPassword == nil {
                try db.execute(sql: "UPDATE staff SET must_change_password = 1 WHERE id = ?", arguments: [id])
            }
            return id
        }
        let version = try database.schemaVersion()
        try database.close()
        return .created(Created(facilityID: facility.id, adminID: adminID, schemaVersion: version,
                                generatedPassword: request.adminPassword == nil ? password : nil))
    }

    /// Applies pending migrations to an existing database.
    public static func migrate(settings: Settings) throws -> [String] {
        guard FileManager.default.fileExists(atPath: settings.databasePath) else {
            throw ApplianceError.notInitialised(dataDirectory: settings.dataDirectory)
        }
        let database = try AppDatabase(settings: settings)
        defer { try? database.close() }
        return try database.migrate()
    }

    /// For `serve --demo`: when the directory holds no database yet, creates
    /// storage and the demo data. Returns true when it created them.
    public static func prepareDemo(settings: Settings) async throws -> Bool {
        if FileManager.default.fileExists(atPath: settings.databasePath) { return false }
        let (database, _) = try prepareStorage(settings: settings)
        try database.close()
        let (appliance, _) = try Appliance.open(settings: settings)
        _ = try await DemoData.seed(appliance)
        appliance.auditAnchor.flush()
        try appliance.database.close()
        return true
    }

    /// Creates the data directory (0700), the master key (or loads one made
    /// earlier for this directory), the database, all migrations, and the key
    /// check that later tells a wrong key file apart.
    static func prepareStorage(settings: Settings) throws -> (AppDatabase, MasterKey) {
        try FileManager.default.createDirectory(atPath: settings.dataDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let keyFile = settings.resolvedKeyFile
        if FileManager.default.fileExists(atPath: keyFile) {
            throw ApplianceError.keyWithoutDatabase(keyFile: keyFile)
        }
        let key = try MasterKey.create(at: keyFile)
        let database = try AppDatabase(settings: settings)
        try database.migrate()
        try database.pool.write { db in
            try KeyCheck.store(key, in: db)
            try ApplianceIdentity.ensure(in: db)
        }
        return (database, key)
    }
}

extension ApplianceSetup {
    /// Walks the audit chain of a data directory without changing anything
    /// (no migration is applied), and checks it against the head file.
    /// Needs the master key: the chain and the file are keyed.
    public static func verifyAudit(settings: Settings) throws -> AuditLog.Verification {
        guard FileManager.default.fileExists(atPath: settings.databasePath) else {
            throw ApplianceError.notInitialised(dataDirectory: settings.dataDirectory)
        }
        let database = try AppDatabase(settings: settings)
        defer { try? database.pool.close() }
        let ring = try database.pool.read { db in try KeyRing.load(keyFile: settings.resolvedKeyFile, settings: settings, in: db) }
        let log = AuditLog(ring: ring, cipher: FieldCipher(ring: ring))
        let path = settings.dataDirectory + "/" + AuditAnchor.fileName
        switch AuditAnchor.stored(dataDirectory: settings.dataDirectory, ring: ring) {
        case .invalid:
            return .headFile(reason: "\(path) is damaged, altered or not sealed with this box's master key")
        case .head(let head):
            return try database.pool.read { db in try log.verify(in: db, head: head) }
        case .missing:
            let result = try database.pool.read { db in try log.verify(in: db) }
            guard case .intact(let entries) = result, entries > 0 else { return result }
            return .headFile(reason: """
                there is no \(path), so removal of the newest entries cannot be detected (the \(entries) entries \
                present chain correctly). The server writes the file when it starts; if it existed before, it was removed.
                """)
        }
    }
}
