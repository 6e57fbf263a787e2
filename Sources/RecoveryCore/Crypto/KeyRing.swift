import Foundation
import GRDB

/// The master-key versions a data directory uses: the current key, the
/// retiring one while a rotation runs, and the sub-keys of retired versions
/// kept sealed in the database (`RetainedSubkeys`). Every key derived from
/// the master key is derived per version from this ring.
///
/// Version 1 is the file named by `key_file`; version N > 1 is
/// `<key_file>.vN`. The database lists the versions (`master_key_versions`)
/// with their key checks, so a wrong or missing file is named at start.
public struct KeyRing: Sendable {
    public let currentVersion: UInt32
    /// The loaded master keys: the current one and, during a rotation, the retiring one.
    public let masterKeys: [UInt32: MasterKey]
    public let retiringVersion: UInt32?
    public let retained: RetainedSubkeys

    public init(currentVersion: UInt32, masterKeys: [UInt32: MasterKey], retiringVersion: UInt32? = nil,
                retained: RetainedSubkeys = RetainedSubkeys()) {
        precondition(masterKeys[currentVersion] != nil, "the current key must be loaded")
        self.currentVersion = currentVersion
        self.masterKeys = masterKeys
        self.retiringVersion = retiringVersion
        self.retained = retained
    }

    /// A ring of one key, version 1 (a box that never rotated, and tests).
    public init(single key: MasterKey) {
        self.init(currentVersion: 1, masterKeys: [1: key])
    }

    public var current: MasterKey { masterKeys[currentVersion]! }

    /// The file of key `version` for the configured `key_file`.
    public static func keyFile(_ base: String, version: UInt32) -> String {
        version == 1 ? base : "\(base).v\(version)"
    }

    /// A sub-key of `version`: derived from its master key when loaded, else
    /// the retained copy; nil when neither is at hand.
    public func subkey(_ purpose: KeyPurpose, id: UInt64, version: UInt32, length: Int = 32) -> [UInt8]? {
        if let master = masterKeys[version] { return master.derive(purpose, id: id, length: length) }
        return retained.key(version: version, purpose: purpose, id: id)
    }

    /// Every version that has `purpose`/`id` at hand, the current one first.
    public func subkeys(_ purpose: KeyPurpose, id: UInt64, length: Int = 32) -> [(version: UInt32, key: [UInt8])] {
        var out: [(version: UInt32, key: [UInt8])] = [(currentVersion, current.derive(purpose, id: id, length: length))]
        for version in masterKeys.keys.sorted(by: >) where version != currentVersion {
            out.append((version, masterKeys[version]!.derive(purpose, id: id, length: length)))
        }
        for version in retained.versions(purpose: purpose, id: id) where masterKeys[version] == nil {
            out.append((version, retained.key(version: version, purpose: purpose, id: id)!))
        }
        return out
    }

    // MARK: Loading

    /// What the database says about the ring, cheap to read: the server
    /// compares it every second to notice a rotation and reload.
    public struct Listing: Equatable, Sendable {
        public var current: UInt32
        public var currentCheck: String
        public var retiring: UInt32?
        public var retiringCheck: String?
        public var retainedCount: Int
    }

    /// The listing, or nil for a database from before key versions (0019):
    /// it has version 1 only, checked by the box setting.
    public static func listing(in db: Database) throws -> Listing? {
        guard try db.tableExists("master_key_versions") else { return nil }
        let rows = try Row.fetchAll(db, sql: "SELECT version, key_check, state FROM master_key_versions WHERE state <> 'retired'")
        guard let current = rows.first(where: { $0["state"] == "current" }) else { return nil }
        let retiring = rows.first(where: { $0["state"] == "retiring" })
        let retained = try Int.fetchOne(db, sql: "SELECT count(*) FROM retained_subkeys") ?? 0
        return Listing(current: current["version"], currentCheck: current["key_check"],
                       retiring: retiring?["version"], retiringCheck: retiring?["key_check"], retainedCount: retained)
    }

    /// Every key file present for `base` (version 1 and `.vN`), by version,
    /// for opening backups made under any version kept on the box.
    public static func keyFilesPresent(_ base: String) throws -> [UInt32: MasterKey] {
        var keys: [UInt32: MasterKey] = [:]
        if FileManager.default.fileExists(atPath: base) { keys[1] = try MasterKey.load(from: base) }
        let folder = (base as NSString).deletingLastPathComponent.isEmpty ? "." : (base as NSString).deletingLastPathComponent
        let prefix = (base as NSString).lastPathComponent + ".v"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(prefix) {
            guard let version = UInt32(name.dropFirst(prefix.count)), version > 1 else { continue }
            keys[version] = try MasterKey.load(from: folder + "/" + name)
        }
        return keys
    }

    /// The ring of a database from keys at hand (a restored backup's), or
    /// nil when a version it lists is not among them or does not match.
    static func open(keys: [UInt32: MasterKey], in db: Database) throws -> KeyRing? {
        guard let listing = try listing(in: db) else {
            guard let key = keys[1], try KeyCheck.compare(key, in: db) == .matches else { return nil }
            return KeyRing(single: key)
        }
        var loaded: [UInt32: MasterKey] = [:]
        for (version, check) in [(listing.current, listing.currentCheck)] + (listing.retiring.map { [($0, listing.retiringCheck!)] } ?? []) {
            guard let key = keys[version], ConstantTime.equals(Array(KeyCheck.value(for: key).utf8), Array(check.utf8)) else { return nil }
            loaded[version] = key
        }
        let bare = KeyRing(currentVersion: listing.current, masterKeys: loaded, retiringVersion: listing.retiring)
        return KeyRing(currentVersion: listing.current, masterKeys: loaded, retiringVersion: listing.retiring,
                       retained: try RetainedSubkeys.load(cipher: FieldCipher(ring: bare), in: db))
    }

    /// Loads the ring of the database: each listed key file must exist and
    /// match its check; retained sub-keys are opened with the loaded keys.
    public static func load(keyFile: String, settings: Settings, in db: Database) throws -> KeyRing {
        guard let listing = try listing(in: db) else {
            let key = try MasterKey.load(from: keyFile)
            try KeyCheck.require(key, settings: settings, in: db)
            return KeyRing(single: key)
        }
        func load(_ version: UInt32, check: String) throws -> MasterKey {
            let path = Self.keyFile(keyFile, version: version)
            guard version == 1 || FileManager.default.fileExists(atPath: path) else {
                throw ApplianceError.masterKeyVersionMissing(version: version, keyFile: path)
            }
            let key = try MasterKey.load(from: path)
            // Version 1's check is also the box setting `init` writes last: without it init never finished.
            if version == 1 { try KeyCheck.require(key, settings: settings, in: db) }
            guard ConstantTime.equals(Array(KeyCheck.value(for: key).utf8), Array(check.utf8)) else {
                throw ApplianceError.wrongMasterKey(keyFile: path)
            }
            return key
        }
        var keys = [listing.current: try load(listing.current, check: listing.currentCheck)]
        if let retiring = listing.retiring, let check = listing.retiringCheck {
            keys[retiring] = try load(retiring, check: check)
        }
        let bare = KeyRing(currentVersion: listing.current, masterKeys: keys, retiringVersion: listing.retiring)
        let retained = try RetainedSubkeys.load(cipher: FieldCipher(ring: bare), in: db)
        return KeyRing(currentVersion: listing.current, masterKeys: keys, retiringVersion: listing.retiring, retained: retained)
    }
}
