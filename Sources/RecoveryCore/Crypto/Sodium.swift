import CSodium
import Foundation

/// libsodium must be initialised once before use; `sodium_init` is thread-safe
/// and idempotent, and this wrapper makes every crypto type call it first.
enum Sodium {
    private static let ready: Bool = sodium_init() >= 0

    static func ensureInitialized() {
        precondition(ready, "libsodium failed to initialise")
    }
}

extension Sodium {
    /// Unkeyed BLAKE2b-256 of `text`'s UTF-8 bytes: a fingerprint to look
    /// things up by, not a secret.
    static func fingerprint(_ text: String) -> Data {
        var text = text
        var out = Data(count: 32)
        text.withUTF8 { bytes in
            out.withUnsafeMutableBytes { raw in
                _ = crypto_generichash(raw.baseAddress!.assumingMemoryBound(to: UInt8.self), 32, bytes.baseAddress, UInt64(bytes.count), nil, 0)
            }
        }
        return out
    }
}
