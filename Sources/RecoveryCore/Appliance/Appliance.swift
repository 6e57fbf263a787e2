import Foundation
import GRDB

/// An opened, initialised appliance: its settings, database and the crypto
/// services derived from its master key. Libraries take this rather than
/// loose globals, so tests open as many as they like side by side.
public final class Appliance: Sendable {
    public let settings: Settings
    public let database: AppDatabase
    public let cipher: FieldCipher
    /// The sub-keys of documents' encrypted files.
    public let documentKeys: DocumentKeys
    public let blindIndex: BlindIndex
    public let passwords: PasswordHasher
    public let audit: AuditLog
    /// The audit chain's head kept beside the database (`audit.head`).
    public let auditAnchor: AuditAnchor
    /// Set when this start wrote a missing head file over existing entries
    /// (a database from before the file, or the file was removed): the
    /// newest entry it starts from. The caller logs it; the trail records it.
    public let auditHeadCreatedAt: Int64?
    /// Group commit: small writes (read audit entries, app records) share transactions.
    public let commits: GroupCommit
    /// The audit entries of reads, through `commits`.
    public let auditWriter: AuditWriter
    /// New records and flags, for whoever listens (realtime comes later).
    public let events = EventBus()
    public let accessTokens: AccessTokens
    /// Sessions ended while their access tokens may still be unexpired.
    public let revokedSessions = RevokedSessions()
    /// Each session's latest request, for the idle limit.
    public let sessionActivity: SessionActivity
    /// Staff who must change an administrator-set password first.
    public let pendingPasswordChanges = PendingPasswordChanges()
    /// One federation delivery round at a time.
    public let federationRounds = FederationRounds()
    /// Seals this box's federation signing key.
    public let signingKeySeal: SigningKeySeal
    public let startedAt: Date
    /// For the operator tasks that derive keys of their own (backups).
    let masterKey: MasterKey
    /// Free space on the data directory's disk (`storage.min_free_bytes`).
    public let diskSpace: DiskSpace
    /// The server's own backups (`backup.*` settings).
    public let backups: ScheduledBackups

    init(settings: Settings, database: AppDatabase, masterKey: MasterKey, passwordCost: PasswordHasher.Cost,
         anchor: AuditAnchor, auditHeadCreatedAt: Int64?) {
        self.settings = settings
        self.database = database
        self.masterKey = masterKey
        self.backups = ScheduledBackups(settings: settings, database: database, masterKey: masterKey)
        self.diskSpace = DiskSpace(path: settings.dataDirectory, minimumFreeBytes: Int64(settings.storageMinFreeBytes))
        self.cipher = FieldCipher(masterKey: masterKey)
        self.documentKeys = DocumentKeys(masterKey: masterKey)
        self.blindIndex = BlindIndex(masterKey: masterKey)
        self.passwords = PasswordHasher(cost: passwordCost)
        self.auditAnchor = anchor
        self.auditHeadCreatedAt = auditHeadCreatedAt
        self.audit = AuditLog(masterKey: masterKey, cipher: cipher, anchor: anchor)
        self.commits = GroupCommit(database: database)
        self.auditWriter = AuditWriter(commits: commits, log: audit)
        self.accessTokens = AccessTokens(masterKey: masterKey, lifetimeSeconds: settings.accessTokenTTLSeconds)
        self.sessionActivity = SessionActivity(settings: settings)
        self.signingKeySeal = SigningKeySeal(masterKey: masterKey)
        self.startedAt = Date()
    }

    /// Opens an initialised data directory: the key file must exist and be
    /// the database's key (a database without a key check never finished
    /// `init` and is refused); a schema newer than this binary is refused;
    /// pending migrations are applied and returned; the audit head file must
    /// name an entry the trail still holds (a missing one is written).
    public static func open(settings: Settings, passwordCost: PasswordHasher.Cost = .interactive) throws -> (Appliance, appliedMigrations: [String]) {
        guard FileManager.default.fileExists(atPath: settings.databasePath) else {
            throw ApplianceError.notInitialised(dataDirectory: settings.dataDirectory)
        }
        let key = try MasterKey.load(from: settings.resolvedKeyFile)
        let database = try AppDatabase(settings: settings)
        guard try database.schemaVersion() > 0 else {
            throw ApplianceError.notInitialised(dataDirectory: settings.dataDirectory)
        }
        try database.refuseNewerSchema()
        try database.pool.read { db in try KeyCheck.require(key, settings: settings, in: db) }
        let applied = try database.migrate()
        if try database.pool.read({ db in try ApplianceIdentity.get(in: db) }) == nil {
            try database.pool.write { db in try ApplianceIdentity.ensure(in: db) }
        }
        let (anchor, created) = try AuditAnchor.load(dataDirectory: settings.dataDirectory, masterKey: key, database: database)
        let appliance = Appliance(settings: settings, database: database, masterKey: key, passwordCost: passwordCost,
                                  anchor: anchor, auditHeadCreatedAt: created?.seq)
        if let created {
            // The trail itself says from which entry on its end is protected.
            try database.pool.write { db in
                try appliance.audit.append(AuditEvent(action: "audit.head_created", outcome: .success, actorKind: .system,
                                                      resourceType: "audit_log", details: ["from_seq": String(created.seq)]), in: db)
            }
            anchor.flush()
        }
        appliance.revokedSessions.insert(try database.pool.read { db in
            try SessionStore.recentlyRevoked(withinSeconds: settings.accessTokenTTLSeconds, in: db)
        })
        appliance.pendingPasswordChanges.insert(try database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM staff WHERE must_change_password = 1")
        })
        return (appliance, applied)
    }

    public var staffStore: StaffStore { StaffStore(cipher: cipher, blindIndex: blindIndex) }
    public var patientStore: PatientStore { PatientStore(cipher: cipher, blindIndex: blindIndex) }
    public var sessionStore: SessionStore { SessionStore(cipher: cipher, blindIndex: blindIndex, settings: settings) }
    public var registrationKeys: RegistrationKeyStore { RegistrationKeyStore(blindIndex: blindIndex, lifetimeHours: settings.registrationKeyTTLHours) }
    public var throttle: LoginThrottle { LoginThrottle(blindIndex: blindIndex, settings: settings) }

    /// Whether the database's key check still matches the key this process
    /// holds (the readiness check: a database swapped underneath shows here).
    public func masterKeyMatchesDatabase() async -> Bool {
        let key = masterKey
        return (try? await database.pool.read { db in try KeyCheck.compare(key, in: db) }) == .matches
    }

    /// Seconds since this process opened the appliance.
    public var uptimeSeconds: Int { Int(Date().timeIntervalSince(startedAt)) }
}
