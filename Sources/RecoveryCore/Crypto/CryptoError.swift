/// Why a cryptographic operation failed. Messages never include key material
/// or plaintext.
public enum CryptoError: Error, Equatable, CustomStringConvertible {
    case masterKeyMissing(path: String)
    case masterKeyUnreadable(path: String, reason: String)
    case masterKeyWrongSize(path: String, size: Int)
    case masterKeyTooOpen(path: String, mode: String)
    case masterKeyExists(path: String)
    case unsupportedCiphertextFormat
    case unknownKeyVersion(UInt32)
    case ciphertextTooShort
    case decryptionFailed
    case passwordHashingFailed

    public var description: String {
        switch self {
        case .masterKeyMissing(let path):
            return "master key file not found at \(path): without it the encrypted data cannot be read. Restore the key from your key backup, or point key_file / --key-file at it. A new key is never created silently."
        case .masterKeyUnreadable(let path, let reason):
            return "master key file \(path) cannot be read: \(reason)"
        case .masterKeyWrongSize(let path, let size):
            return "master key file \(path) holds \(size) bytes; a master key is exactly 32 bytes"
        case .masterKeyTooOpen(let path, let mode):
            return "master key file \(path) is readable by other users (mode \(mode)); run: chmod 600 \(path)"
        case .masterKeyExists(let path):
            return "a master key already exists at \(path); refusing to overwrite it"
        case .unsupportedCiphertextFormat:
            return "encrypted value has an unsupported format"
        case .unknownKeyVersion(let version):
            return "encrypted value uses key version \(version), which this appliance does not hold"
        case .ciphertextTooShort:
            return "encrypted value is truncated"
        case .decryptionFailed:
            return "encrypted value failed authentication (wrong key, tampered, or moved from another row)"
        case .passwordHashingFailed:
            return "password hashing failed (out of memory?)"
        }
    }
}
