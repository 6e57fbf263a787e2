import CSodium
import Foundation

/// The appliance's one master key: 32 random bytes in a file of mode 0600.
/// Every other key is derived from it by purpose (`KeyPurpose`) and id, so
/// losing the file makes the data unreadable — by design.
public struct MasterKey: Sendable {
    public static let byteCount = 32
    private let bytes: [UInt8]

    /// For tests and key import: wraps existing bytes.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == Self.byteCount, "a master key is 32 bytes")
        self.bytes = bytes
    }

    /// A fresh random key, not yet stored anywhere.
    public static func generate() -> MasterKey {
        MasterKey(bytes: SecureRandom.bytes(byteCount))
    }

    /// Reads the key file, refusing a missing file, a file of the wrong size,
    /// or one that other users can read.
    public static func load(from path: String) throws -> MasterKey {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { throw CryptoError.masterKeyMissing(path: path) }
            throw CryptoError.masterKeyUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        let mode = info.st_mode & 0o777
        if mode & 0o077 != 0 {
            throw CryptoError.masterKeyTooOpen(path: path, mode: String(mode, radix: 8))
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CryptoError.masterKeyUnreadable(path: path, reason: "permission denied or not a file")
        }
        guard data.count == byteCount else {
            throw CryptoError.masterKeyWrongSize(path: path, size: data.count)
        }
        return MasterKey(bytes: [UInt8](data))
    }

    /// Writes a new random key to `path` with mode 0600 and returns it. Never
    /// overwrites: an existing file is an error.
    public static func create(at path: String) throws -> MasterKey {
        let key = generate()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw CryptoError.masterKeyExists(path: path) }
            throw CryptoError.masterKeyUnreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        let written = key.bytes.withUnsafeBytes { write(fd, $0.baseAddress!, byteCount) }
        guard written == byteCount, fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw CryptoError.masterKeyUnreadable(path: path, reason: "could not write: \(reason)")
        }
        return key
    }

    /// A 32-byte sub-key for `purpose` and `id` (libsodium's
    /// crypto_kdf_derive_from_key, BLAKE2b-based).
    public func derive(_ purpose: KeyPurpose, id: UInt64 = 0, length: Int = 32) -> [UInt8] {
        Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: length)
        let context = purpose.context
        let rc = out.withUnsafeMutableBytes { outPtr in
            bytes.withUnsafeBytes { keyPtr in
                crypto_kdf_derive_from_key(
                    outPtr.baseAddress!.assumingMemoryBound(to: UInt8.self), length, id, context,
                    keyPtr.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        precondition(rc == 0, "crypto_kdf_derive_from_key failed")
        return out
    }
}

extension MasterKey {
    /// Writes a new random key to `path` durably before returning it: a
    /// temporary file (mode 0600) beside it, written and fsynced, renamed
    /// over `path`, and the folder fsynced, so after a crash the file is
    /// either absent or whole. Owned like `ownerOf` when given (the
    /// service's user reads the keys of a rotation run as root).
    public static func createDurably(at path: String, ownerOf reference: String? = nil) throws -> MasterKey {
        let key = generate()
        let temporary = "\(path).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw CryptoError.masterKeyUnreadable(path: temporary, reason: String(cString: strerror(errno)))
        }
        var info = stat()
        if let reference, stat(reference, &info) == 0 { _ = fchown(fd, info.st_uid, info.st_gid) }
        let written = key.bytes.withUnsafeBytes { write(fd, $0.baseAddress!, byteCount) }
        let synced = written == byteCount && fchmod(fd, 0o600) == 0 && fsync(fd) == 0
        let reason = String(cString: strerror(errno))
        close(fd)
        guard synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CryptoError.masterKeyUnreadable(path: path, reason: "could not write: \(reason)")
        }
        let folder = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        let dirFD = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            defer { close(dirFD) }
            guard fsync(dirFD) == 0 else {
                throw CryptoError.masterKeyUnreadable(path: path, reason: "could not flush \(folder): \(String(cString: strerror(errno)))")
            }
        }
        return key
    }
}
