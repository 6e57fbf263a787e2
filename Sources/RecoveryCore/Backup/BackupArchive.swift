import Foundation

/// The backup file format. In clear: `RABACKUP`, the format version and the
/// key version (4 bytes each, big-endian), then a secretstream header. Then
/// frames, each a 4-byte big-endian length and one sealed message:
///
///   the manifest (JSON) · for each file: its start (size, path), then its bytes
///   in pieces of at most 1 MiB · the end, marked final.
///
/// Every message is authenticated with the clear header as associated data,
/// so the versions cannot be changed, and the final mark shows a cut-off file.
/// The key is derived from the master key (`KeyPurpose.backups`, by key version).
enum BackupArchive {
    static let magic = Array("RABACKUP".utf8)
    static let formatVersion: UInt32 = 1
    static let pieceBytes = 1 << 20
    static let databaseFile = "recovery.sqlite"
    static let documentsDirectory = "documents"

    enum Kind: UInt8 {
        case manifest = 1
        case fileStart = 2
        case fileBytes = 3
        case end = 4
    }

    static func clearHeader(keyVersion: UInt32) -> [UInt8] {
        magic + bigEndian(formatVersion) + bigEndian(keyVersion)
    }

    static func key(_ masterKey: MasterKey, version: UInt32) -> [UInt8] {
        masterKey.derive(.backups, id: UInt64(version))
    }

    /// A path an archive may hold: the database, the audit head file, or a
    /// file under documents/, with no way out of the data directory.
    static func isAllowed(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.hasPrefix("/"), !path.contains("\0"), parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            return false
        }
        return path == databaseFile || path == AuditAnchor.fileName || (parts.count > 1 && parts[0] == Substring(documentsDirectory))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian, Array.init)
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian, Array.init)
    }

    static func integer<T: FixedWidthInteger>(_ bytes: ArraySlice<UInt8>, as: T.Type) -> T {
        bytes.reduce(T(0)) { ($0 << 8) | T($1) }
    }

    // MARK: Writing

    /// Writes an archive to an open file, message by message.
    struct Writer {
        private let handle: FileHandle
        private let path: String
        private var sealer: SecretStream.Sealer
        private let associated: [UInt8]
        private(set) var bytesWritten: Int64 = 0

        init(handle: FileHandle, path: String, key: [UInt8], keyVersion: UInt32) throws {
            self.handle = handle
            self.path = path
            self.sealer = SecretStream.Sealer(key: key)
            self.associated = BackupArchive.clearHeader(keyVersion: keyVersion)
            try write(associated + sealer.header)
        }

        mutating func manifest(_ manifest: BackupManifest) throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try message(.manifest, Array(try encoder.encode(manifest)))
        }

        /// Copies `bytes` bytes of the file at `source` under `path`.
        mutating func file(_ path: String, from source: String, bytes: Int64) throws {
            guard let input = FileHandle(forReadingAtPath: source) else {
                throw BackupError.cannotRead(path: source, reason: "cannot open it")
            }
            defer { try? input.close() }
            try message(.fileStart, BackupArchive.bigEndian(UInt64(bytes)) + Array(path.utf8))
            var remaining = bytes
            while remaining > 0 {
                let want = Int(min(remaining, Int64(BackupArchive.pieceBytes)))
                let piece: Data
                do { piece = try input.read(upToCount: want) ?? Data() } catch {
                    throw BackupError.cannotRead(path: source, reason: String(describing: error))
                }
                guard piece.count == want else { throw BackupError.fileChanged(path: source) }
                try message(.fileBytes, Array(piece))
                remaining -= Int64(want)
            }
        }

        mutating func finish() throws {
            try message(.end, [], final: true)
            do { try handle.synchronize() } catch {
                throw BackupError.cannotWrite(path: path, reason: String(describing: error))
            }
        }

        private mutating func message(_ kind: Kind, _ body: [UInt8], final: Bool = false) throws {
            let sealed = sealer.seal([kind.rawValue] + body, associated: associated, final: final)
            try write(BackupArchive.bigEndian(UInt32(sealed.count)) + sealed)
        }

        private mutating func write(_ bytes: [UInt8]) throws {
            do { try handle.write(contentsOf: bytes) } catch {
                throw BackupError.cannotWrite(path: path, reason: String(describing: error))
            }
            bytesWritten += Int64(bytes.count)
        }
    }

    // MARK: Reading

    /// Opens an archive and writes its files under `directory` (which must
    /// exist), checking each against the manifest; returns the manifest. Any
    /// failure to authenticate, a missing end, or bytes after it is an error.
    /// `keys` are the master keys at hand by version; `keyFile` names the
    /// key file setting, for the error when the archive's version is missing.
    static func extract(_ path: String, keys: [UInt32: MasterKey], keyFile: String = "master.key", into directory: String) throws -> BackupManifest {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw BackupError.cannotRead(path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")
        }
        defer { try? handle.close() }
        var reader = FrameReader(handle: handle, path: path)
        let clear = try reader.bytes(magic.count + 8 + SecretStream.headerByteCount, orElse: .notABackup(path: path))
        guard Array(clear.prefix(magic.count)) == magic else { throw BackupError.notABackup(path: path) }
        let format = integer(clear[magic.count..<magic.count + 4], as: UInt32.self)
        guard format == formatVersion else { throw BackupError.unsupportedFormat(version: format) }
        let keyVersion = integer(clear[magic.count + 4..<magic.count + 8], as: UInt32.self)
        let associated = Array(clear.prefix(magic.count + 8))
        guard let masterKey = keys[keyVersion] else {
            throw BackupError.keyVersionMissing(version: keyVersion, keyFile: KeyRing.keyFile(keyFile, version: keyVersion))
        }
        guard var opener = SecretStream.Opener(key: key(masterKey, version: keyVersion), header: Array(clear.suffix(SecretStream.headerByteCount))) else {
            throw BackupError.notABackup(path: path)
        }

        var manifest: BackupManifest?
        var pending: [BackupManifest.File] = []
        var current: (file: FileHandle, remaining: Int64, path: String)?
        var first = true
        func damaged(_ reason: String) -> BackupError { .damaged(path: path, reason: reason) }

        while true {
            guard let frame = try reader.frame() else { throw damaged("it ends before its last part (cut off?)") }
            guard let (message, final) = opener.open(frame, associated: associated) else {
                throw first ? BackupError.wrongKey(path: path) : damaged("a part fails authentication")
            }
            first = false
            guard let kindByte = message.first, let kind = Kind(rawValue: kindByte) else { throw damaged("a part of unknown kind") }
            let body = message.dropFirst()
            switch kind {
            case .manifest:
                guard manifest == nil else { throw damaged("two manifests") }
                let decoded: BackupManifest
                do { decoded = try JSONDecoder().decode(BackupManifest.self, from: Data(body)) } catch {
                    throw damaged("its manifest cannot be read")
                }
                guard decoded.files.allSatisfy({ isAllowed($0.path) }) else { throw damaged("its manifest names a file outside the data directory") }
                manifest = decoded
                pending = decoded.files
            case .fileStart:
                guard manifest != nil, current == nil, body.count > 8 else { throw damaged("a file out of place") }
                let size = Int64(integer(body.prefix(8), as: UInt64.self))
                let name = String(decoding: body.dropFirst(8), as: UTF8.self)
                guard let expected = pending.first, expected.path == name, expected.bytes == size else {
                    throw damaged("a file the manifest does not list in that place")
                }
                pending.removeFirst()
                current = (try createFile(name, in: directory), size, name)
            case .fileBytes:
                guard var open = current, Int64(body.count) <= open.remaining else { throw damaged("file bytes out of place") }
                do { try open.file.write(contentsOf: body) } catch {
                    throw BackupError.cannotWrite(path: directory + "/" + open.path, reason: String(describing: error))
                }
                open.remaining -= Int64(body.count)
                current = open
            case .end:
                guard final, let manifest, pending.isEmpty else { throw damaged("it ends before every file the manifest lists") }
                guard current.map({ $0.remaining == 0 }) ?? true else { throw damaged("a file is cut short") }
                try current?.file.synchronize()
                try current?.file.close()
                guard try reader.frame() == nil else { throw damaged("there are bytes after its end") }
                return manifest
            }
            if let open = current, open.remaining == 0 {
                try open.file.synchronize()
                try open.file.close()
                current = nil
            }
            if final { throw damaged("a part marked last before the end") }
        }
    }

    /// A new file (mode 0600) under `directory`, with its folders (0700).
    static func createFile(_ relative: String, in directory: String) throws -> FileHandle {
        let full = directory + "/" + relative
        let folder = (full as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw BackupError.cannotWrite(path: folder, reason: String(describing: error))
        }
        let fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BackupError.cannotWrite(path: full, reason: String(cString: strerror(errno))) }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// Reads length-prefixed frames, refusing lengths no writer makes.
    struct FrameReader {
        let handle: FileHandle
        let path: String

        func bytes(_ count: Int, orElse error: BackupError) throws -> [UInt8] {
            let data: Data
            do { data = try handle.read(upToCount: count) ?? Data() } catch {
                throw BackupError.cannotRead(path: path, reason: String(describing: error))
            }
            guard data.count == count else { throw error }
            return Array(data)
        }

        /// The next frame, or nil at the end of the file.
        func frame() throws -> [UInt8]? {
            let length: Data
            do { length = try handle.read(upToCount: 4) ?? Data() } catch {
                throw BackupError.cannotRead(path: path, reason: String(describing: error))
            }
            if length.isEmpty { return nil }
            guard length.count == 4 else { throw BackupError.damaged(path: path, reason: "it is cut off") }
            let size = Int(BackupArchive.integer(Array(length)[...], as: UInt32.self))
            guard size >= SecretStream.overheadByteCount, size <= 64 << 20 else {
                throw BackupError.damaged(path: path, reason: "a part has an impossible length")
            }
            return try bytes(size, orElse: .damaged(path: path, reason: "it is cut off"))
        }
    }
}
