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
