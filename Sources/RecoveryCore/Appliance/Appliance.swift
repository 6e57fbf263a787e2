import Foundation
import GRDB
import Synchronization

/// An opened, initialised appliance: its settings, database and the crypto
/// services derived from its master key. Libraries take this rather than
/// loose globals, so tests open as many as they like side by side.
public final class Appliance: Sendable {
    public let settings: Settings
    public let database: AppDatabase
    /// Everything derived from the key ring, replaced as a whole when a key
    /// rotation changes the ring (`reloadKeysIfChanged`).
    private let keys: KeyServices.Holder
    public var keyRing: KeyRing { keys.current.ring }
    public var cipher: FieldCipher { keys.current.cipher }
    /// The sub-keys of documents' encrypted files.
    public var documentKeys: DocumentKeys { DocumentKeys(ring: keyRing) }
    public var blindIndex: BlindIndex { keys.current.blindIndex }
    public let passwords: PasswordHasher
    public var audit: AuditLog { keys.current.audit }
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
    public var accessTokens: AccessTokens { keys.current.accessTokens }
    /// Sessions ended while their access tokens may still be unexpired.
    public let revokedSessions = RevokedSessions()
    /// Each session's latest request, for the idle limit.
    public let sessionActivity: SessionActivity
    /// Staff who must change an administrator-set password first.
    public let pendingPasswordChanges = PendingPasswordChanges()
    /// One federation delivery round at a time.
    public let federationRounds = ConcurrencyLimit(capacity: 1)
    /// PDF reports drawn at once, one per core; further downloads wait their turn.
    public let reportDrawings = ConcurrencyLimit(capacity: max(1, ProcessInfo.processInfo.activeProcessorCount))
    /// Seals this box's federation signing key.
    public var signingKeySeal: SigningKeySeal { keys.current.signingKeySeal }
    public let startedAt: Date
    /// For the operator tasks that derive keys of their own (backups).
    var masterKey: MasterKey { keyRing.current }
    /// Free space on the data directory's disk (`storage.min_free_bytes`).
    public let diskSpace: DiskSpace
    /// The server's own backups (`backup.*` settings).
    public let backups: ScheduledBackups
    /// The server's key reload: its last outcome and report (`reloadKeysAndReport`).
    public let keyReload = KeyReloadStatus()

    init(settings: Settings, database: AppDatabase, ring: KeyRing, listing: KeyRing.Listing?, passwordCost: PasswordHasher.Cost,
         anchor: AuditAnchor, auditHeadCreatedAt: Int64?) {
        self.settings = settings
        self.database = database
        let keys = KeyServices.Holder(KeyServices(ring: ring, listing: listing, settings: settings, anchor: anchor))
        self.keys = keys
        self.backups = ScheduledBackups(settings: settings, database: database, ring: { keys.current.ring })
        self.diskSpace = DiskSpace(path: settings.dataDirectory, minimumFreeBytes: Int64(settings.storageMinFreeBytes))
        self.passwords = PasswordHasher(cost: passwordCost)
        self.auditAnchor = anchor
        self.auditHeadCreatedAt = auditHeadCreatedAt
        self.commits = GroupCommit(database: database)
        self.auditWriter = AuditWriter(commits: commits, currentLog: { keys.current.audit })
        self.sessionActivity = SessionActivity(settings: settings)
        self.startedAt = Date()
    }

    /// Notices a key rotation (or its end) made by `recovery-server keys
    /// rotate` in another process: compares the database's key listing with
    /// the one loaded, a one-row read, and when it changed loads the new ring
    /// so that new data is written under the new version at once and the
    /// retired key is dropped. Returns whether it reloaded.
    @discardableResult
    public func reloadKeysIfChanged() async throws -> Bool {
        let loaded = keys.current.listing
        let settings = self.settings
        guard let changed = try await database.read({ db -> (ring: KeyRing, listing: KeyRing.Listing?)? in
            let listing = try KeyRing.listing(in: db)
            guard listing != loaded else { return nil }
            return (try KeyRing.load(keyFile: settings.resolvedKeyFile, settings: settings, in: db), listing)
        }) else { return false }
        keys.replace(with: KeyServices(ring: changed.ring, listing: changed.listing, settings: settings, anchor: auditAnchor))
        auditAnchor.use(changed.ring)
        return true
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
        // No key file at all (of any version): refused before the database is even opened.
        if try KeyRing.keyFilesPresent(settings.resolvedKeyFile).isEmpty { _ = try MasterKey.load(from: settings.resolvedKeyFile) }
        let database = try AppDatabase(settings: settings)
        guard try database.schemaVersion() > 0 else {
            throw ApplianceError.notInitialised(dataDirectory: settings.dataDirectory)
        }
        try database.refuseNewerSchema()
        // The key files must match before anything (migrations included) touches the data.
        _ = try database.pool.read { db in try KeyRing.load(keyFile: settings.resolvedKeyFile, settings: settings, in: db) }
        let applied = try database.migrate()
        let (ring, listing) = try database.pool.read { db in
            (try KeyRing.load(keyFile: settings.resolvedKeyFile, settings: settings, in: db), try KeyRing.listing(in: db))
        }
        if try database.pool.read({ db in try ApplianceIdentity.get(in: db) }) == nil {
            try database.pool.write { db in try ApplianceIdentity.ensure(in: db) }
        }
        let (anchor, created) = try AuditAnchor.load(dataDirectory: settings.dataDirectory, ring: ring, database: database)
        let appliance = Appliance(settings: settings, database: database, ring: ring, listing: listing, passwordCost: passwordCost,
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
        let ring = keyRing
        return (try? await database.read { db in try KeyCheck.compare(ring.current, version: ring.currentVersion, in: db) }) == .matches
    }

    /// Seconds since this process opened the appliance.
    public var uptimeSeconds: Int { Int(Date().timeIntervalSince(startedAt)) }
}

/// The services derived from one key ring.
struct KeyServices: Sendable {
    let ring: KeyRing
    /// The database's key listing the ring was loaded from (nil: a database from before key versions).
    let listing: KeyRing.Listing?
    let cipher: FieldCipher
    let blindIndex: BlindIndex
    let audit: AuditLog
    let accessTokens: AccessTokens
    let signingKeySeal: SigningKeySeal

    init(ring: KeyRing, listing: KeyRing.Listing?, settings: Settings, anchor: AuditAnchor) {
        self.ring = ring
        self.listing = listing
        cipher = FieldCipher(ring: ring)
        blindIndex = BlindIndex(ring: ring)
        audit = AuditLog(ring: ring, cipher: cipher, anchor: anchor)
        accessTokens = AccessTokens(ring: ring, lifetimeSeconds: settings.accessTokenTTLSeconds)
        signingKeySeal = SigningKeySeal(ring: ring)
    }

    /// The services of the moment, shared with the parts that need the current ones.
    final class Holder: Sendable {
        private let value: Mutex<KeyServices>

        init(_ services: KeyServices) { value = Mutex(services) }

        var current: KeyServices { value.withLock { $0 } }

        func replace(with services: KeyServices) { value.withLock { $0 = services } }
    }
}
