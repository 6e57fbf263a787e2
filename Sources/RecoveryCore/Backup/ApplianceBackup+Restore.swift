import Foundation
import GRDB

extension ApplianceBackup {
    /// What a verified backup holds.
    public struct Verified: Sendable, Equatable {
        public var manifest: BackupManifest
        public var auditEntries: Int
    }

    /// `recovery-server backup verify`: opens the archive with the master key
    /// of `settings`, restores it into a temporary directory and checks it
    /// there (`check(restored:)`); the temporary copy is removed afterwards.
    public static func verify(file: String, settings: Settings) throws -> Verified {
        return try verify(file: file, keys: try KeyRing.keyFilesPresent(settings.resolvedKeyFile), keyFile: settings.resolvedKeyFile)
    }

    static func verify(file: String, masterKey: MasterKey) throws -> Verified {
        try verify(file: file, keys: [1: masterKey])
    }

    /// `keys`: the master keys at hand by version (every key file kept).
    static func verify(file: String, keys: [UInt32: MasterKey], keyFile: String = "master.key") throws -> Verified {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("recovery-verify-\(UUID().uuidString)").path
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw BackupError.cannotWrite(path: scratch, reason: error.localizedDescription)
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let manifest = try BackupArchive.extract(file, keys: keys, keyFile: keyFile, into: scratch)
        let entries = try check(restored: scratch, manifest: manifest, keys: keys)
        return Verified(manifest: manifest, auditEntries: entries)
    }

    /// `recovery-server restore`: writes the backup's files into the data
    /// directory of `settings`, which must be new, empty, or hold nothing but
    /// the master key file; the key must be the one the backup was made with.
    /// The restored copy is checked as `verify` checks; on any failure what
    /// was written is removed again.
    public static func restore(file: String, settings: Settings) throws -> Verified {
        let directory = settings.dataDirectory
        let keyFile = settings.resolvedKeyFile
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw BackupError.targetNotEmpty(directory: directory, entry: "is a file") }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            if let other = entries.sorted().first(where: { !Self.isKeyFile(directory + "/" + $0, of: keyFile) }) {
                throw BackupError.targetNotEmpty(directory: directory, entry: other)
            }
        }
        let keys = try KeyRing.keyFilesPresent(keyFile)
        guard !keys.isEmpty else { throw BackupError.keyFileMissing(path: keyFile) }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw BackupError.cannotWrite(path: directory, reason: error.localizedDescription)
        }
        do {
            let manifest = try BackupArchive.extract(file, keys: keys, keyFile: keyFile, into: directory)
            let entries = try check(restored: directory, manifest: manifest, keys: keys)
            syncDirectory(directory)
            return Verified(manifest: manifest, auditEntries: entries)
        } catch {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where !Self.isKeyFile(directory + "/" + entry, of: keyFile) {
                try? FileManager.default.removeItem(atPath: directory + "/" + entry)
            }
            throw error
        }
    }

    /// Checks a restored data directory against its manifest: SQLite's
    /// `integrity_check`, a schema this binary can run, the master key
    /// check, the row counts, and the audit trail's chain up to the sealed
    /// head file. Returns the number of audit entries.
    /// The key file of `base` or of one of its versions (`base.vN`).
    static func isKeyFile(_ path: String, of base: String) -> Bool {
        path == base || (path.hasPrefix(base + ".v") && UInt32(path.dropFirst(base.count + 2)) != nil)
    }

    static func check(restored directory: String, manifest: BackupManifest, keys: [UInt32: MasterKey]) throws -> Int {
        guard manifest.format == BackupManifest.currentFormat else { throw BackupError.unsupportedFormat(version: UInt32(manifest.format)) }
        guard manifest.schemaVersion <= Migration.latestVersion else {
            throw BackupError.newerSchema(backup: manifest.schemaVersion, binary: Migration.latestVersion)
        }
        let database = try DatabaseQueue(path: directory + "/" + BackupArchive.databaseFile)
        defer { try? database.close() }
        return try database.read { db -> Int in
            let problems = try String.fetchAll(db, sql: "PRAGMA integrity_check")
            guard problems == ["ok"] else {
                throw BackupError.verificationFailed(reason: "SQLite integrity_check reports: \(problems.prefix(3).joined(separator: "; "))")
            }
            let version = try schemaVersion(in: db)
            guard version == manifest.schemaVersion else {
                throw BackupError.verificationFailed(reason: "the database is at schema version \(version), the manifest says \(manifest.schemaVersion)")
            }
            guard try KeyRing.listing(in: db) != nil || BoxSetting.get(KeyCheck.settingKey, in: db) != nil else {
                throw BackupError.verificationFailed(reason: "the database holds no master key check (it never finished init)")
            }
            guard let ring = try KeyRing.open(keys: keys, in: db) else {
                if let listing = try KeyRing.listing(in: db), let missing = [listing.current, listing.retiring].compactMap({ $0 }).first(where: { keys[$0] == nil }) {
                    throw BackupError.verificationFailed(reason: "the database also needs master key version \(missing) (it was copied during a key rotation), whose key file is not here")
                }
                throw BackupError.verificationFailed(reason: "the database belongs to another master key")
            }
            let counts = try countRows(in: db)
            for (table, count) in counts where manifest.counts[table] != count {
                throw BackupError.verificationFailed(reason: "\(table) holds \(count) rows, the manifest says \(manifest.counts[table].map(String.init) ?? "none")")
            }
            let head: AuditAnchor.Head
            switch AuditAnchor.stored(dataDirectory: directory, ring: ring) {
            case .head(let stored): head = stored
            case .missing, .invalid: throw BackupError.verificationFailed(reason: "its audit head file is missing or not sealed with this key")
            }
            guard try AuditAnchor.tableHead(in: db) == head else {
                throw BackupError.verificationFailed(reason: "its audit head file does not name the newest audit entry")
            }
            let log = AuditLog(ring: ring, cipher: FieldCipher(ring: ring))
            switch try log.verify(in: db, head: head) {
            case .intact(let entries): return entries
            case .broken(let seq, let reason): throw BackupError.verificationFailed(reason: "audit trail broken at entry \(seq): \(reason)")
            case .headFile(let reason): throw BackupError.verificationFailed(reason: reason)
            }
        }
    }
}
