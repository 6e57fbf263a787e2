import Foundation
import GRDB

/// Encrypted online backups of a data directory, their verification and
/// restore. A backup is taken while the server runs without holding up its
/// writes: SQLite's online backup API copies the database from one read
/// transaction (a consistent snapshot; WAL lets writers go on meanwhile),
/// then the archive (`BackupArchive`) is written from that copy, with an
/// audit head file sealed for the copy's newest entry and every file under
/// `documents/`. The master key is never in it.
public enum ApplianceBackup {
    /// A backup just written.
    public struct Written: Sendable, Equatable {
        public var file: String
        public var bytes: Int64
        public var manifest: BackupManifest
        /// The master-key versions whose key files it needs to be verified or
        /// restored: the one it is sealed under and, for a copy made while a
        /// key rotation ran, the version being retired.
        public var keyVersions: [UInt32]
        /// The rotation that was unfinished when it was made, if any.
        public var rotation: KeyRotationState?
    }

    // MARK: Backup

    /// `recovery-server backup`: backs up the data directory of `settings`
    /// to `file`, which must not exist. Works while the server runs.
    public static func create(settings: Settings, to file: String) throws -> Written {
        guard FileManager.default.fileExists(atPath: settings.databasePath) else {
            throw ApplianceError.notInitialised(dataDirectory: settings.dataDirectory)
        }
        var configuration = GRDB.Configuration()
        configuration.busyMode = .timeout(TimeInterval(settings.databaseBusyTimeoutMilliseconds) / 1_000)
        let source = try DatabaseQueue(path: settings.databasePath, configuration: configuration)
        defer { try? source.close() }
        let ring = try source.read { db in try KeyRing.load(keyFile: settings.resolvedKeyFile, settings: settings, in: db) }
        return try create(from: source, ring: ring, dataDirectory: settings.dataDirectory, to: file)
    }

    /// Backs up from an open database (the server's pool, or a connection of
    /// the command line's) to `file`, written beside itself and renamed into
    /// place once complete and flushed, so `file` is never a partial archive.
    static func create(from source: any DatabaseReader, masterKey: MasterKey, dataDirectory: String, to file: String,
                       now: Date = Date()) throws -> Written {
        try create(from: source, ring: KeyRing(single: masterKey), dataDirectory: dataDirectory, to: file, now: now)
    }

    /// The archive is sealed under the ring's current version; a database
    /// copied mid-rotation also needs the retiring version's key to restore.
    static func create(from source: any DatabaseReader, ring: KeyRing, dataDirectory: String, to file: String,
                       now: Date = Date()) throws -> Written {
        guard !FileManager.default.fileExists(atPath: file) else { throw BackupError.destinationExists(path: file) }
        let folder = (file as NSString).deletingLastPathComponent.isEmpty ? "." : (file as NSString).deletingLastPathComponent
        let scratch = folder + "/.\((file as NSString).lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).partial"
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch {
            throw BackupError.cannotWrite(path: file, reason: "cannot create a working folder in \(folder): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        // The snapshot: one read transaction, copied page by page.
        let snapshotPath = scratch + "/" + BackupArchive.databaseFile
        let snapshot = try DatabaseQueue(path: snapshotPath)
        try source.backup(to: snapshot)
        let version: Int = try snapshot.read { db in try Self.schemaVersion(in: db) }
        let counts: [String: Int] = try snapshot.read { db in try Self.countRows(in: db) }
        let head: AuditAnchor.Head = try snapshot.read { db in try AuditAnchor.tableHead(in: db) }
        let applianceID: String? = try snapshot.read { db in try ApplianceIdentity.get(in: db) }
        let (listing, rotation) = try snapshot.read { db -> (KeyRing.Listing?, KeyRotationState?) in
            guard try db.tableExists(KeyRotationState.databaseTableName) else { return (try KeyRing.listing(in: db), nil) }
            return (try KeyRing.listing(in: db), try KeyRotationState.current(in: db))
        }
        let keyVersions = Set([ring.currentVersion] + (listing.map { [$0.current] + ($0.retiring.map { [$0] } ?? []) } ?? [])).sorted()
        try snapshot.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
        try snapshot.close()
        let headPath = scratch + "/" + AuditAnchor.fileName
        try AuditAnchor(path: headPath, ring: ring, head: head).save(head)

        var files = [BackupManifest.File(path: BackupArchive.databaseFile, bytes: try size(of: snapshotPath)),
                     BackupManifest.File(path: AuditAnchor.fileName, bytes: try size(of: headPath))]
        let documents = try documentFiles(in: dataDirectory)
        files += documents
        var allCounts = counts
        allCounts["document_files"] = documents.count
        let manifest = BackupManifest(format: BackupManifest.currentFormat, applianceID: applianceID, createdAt: Timestamp.string(now),
                                      schemaVersion: version, recoveryVersion: RecoveryVersion.current,
                                      counts: allCounts, files: files)

        let partial = scratch + ".backup"
        let fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BackupError.cannotWrite(path: partial, reason: String(cString: strerror(errno))) }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var written: Int64 = 0
        do {
            var writer = try BackupArchive.Writer(handle: handle, path: file, key: BackupArchive.key(ring.current, version: ring.currentVersion),
                                                  keyVersion: ring.currentVersion)
            try writer.manifest(manifest)
            for entry in files {
                let source = entry.path.hasPrefix(BackupArchive.documentsDirectory + "/") ? dataDirectory + "/" + entry.path : scratch + "/" + entry.path
                try writer.file(entry.path, from: source, bytes: entry.bytes)
            }
            try writer.finish()
            written = writer.bytesWritten
            try handle.close()
        } catch {
            try? handle.close()
            unlink(partial)
            throw error
        }
        guard link(partial, file) == 0 else {
            let reason = errno == EEXIST ? nil : String(cString: strerror(errno))
            unlink(partial)
            if let reason { throw BackupError.cannotWrite(path: file, reason: reason) }
            throw BackupError.destinationExists(path: file)
        }
        unlink(partial)
        syncDirectory(folder)
        return Written(file: file, bytes: written, manifest: manifest, keyVersions: keyVersions,
                       rotation: rotation?.phase == .finished ? nil : rotation)
    }

    static func schemaVersion(in db: Database) throws -> Int {
        let applied = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
        return applied.compactMap { Int($0.prefix(while: \.isNumber)) }.max() ?? 0
    }

    static func countRows(in db: Database) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in BackupManifest.countedTables where try db.tableExists(table) {
            counts[table] = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0
        }
        return counts
    }

    /// Every regular file under `<data dir>/documents`, in a stable order.
    static func documentFiles(in dataDirectory: String) throws -> [BackupManifest.File] {
        let root = dataDirectory + "/" + BackupArchive.documentsDirectory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else { return [] }
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            throw BackupError.cannotRead(path: root, reason: "cannot list it")
        }
        var files: [BackupManifest.File] = []
        while let relative = walker.nextObject() as? String {
            let attributes = walker.fileAttributes
            guard attributes?[.type] as? FileAttributeType == .typeRegular else { continue }
            let path = BackupArchive.documentsDirectory + "/" + relative
            guard BackupArchive.isAllowed(path) else { continue }
            files.append(.init(path: path, bytes: (attributes?[.size] as? NSNumber)?.int64Value ?? 0))
        }
        return files.sorted { $0.path < $1.path }
    }

    static func size(of path: String) throws -> Int64 {
        do {
            return (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        } catch {
            throw BackupError.cannotRead(path: path, reason: error.localizedDescription)
        }
    }

    /// Makes a rename or new file in `folder` durable.
    static func syncDirectory(_ folder: String) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}
