import CSodium
import Foundation

/// libsodium's secretstream (XChaCha20-Poly1305): a sequence of messages, each
/// authenticated and bound to its place in the stream, the last one marked
/// final, so a reordered, dropped, altered or cut-off message fails to open.
/// Used for backup archives, which are too large for one AEAD message.
enum SecretStream {
    static var headerByteCount: Int { crypto_secretstream_xchacha20poly1305_headerbytes() }
    static var overheadByteCount: Int { crypto_secretstream_xchacha20poly1305_abytes() }

    /// Seals messages in order; `header` goes before them, in clear.
    struct Sealer {
        private var state = crypto_secretstream_xchacha20poly1305_state()
        let header: [UInt8]

        init(key: [UInt8]) {
            Sodium.ensureInitialized()
            precondition(key.count == crypto_secretstream_xchacha20poly1305_keybytes(), "a secretstream key is 32 bytes")
            var header = [UInt8](repeating: 0, count: SecretStream.headerByteCount)
            let rc = crypto_secretstream_xchacha20poly1305_init_push(&state, &header, key)
            precondition(rc == 0, "crypto_secretstream_xchacha20poly1305_init_push failed")
            self.header = header
        }

        /// The ciphertext of one message; `final` marks the stream's last one.
        /// `associated` is authenticated with it but not stored.
        mutating func seal(_ message: [UInt8], associated: [UInt8], final: Bool = false) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: message.count + SecretStream.overheadByteCount)
            var length: UInt64 = 0
            let tag = final ? crypto_secretstream_xchacha20poly1305_tag_final() : crypto_secretstream_xchacha20poly1305_tag_message()
            let rc = crypto_secretstream_xchacha20poly1305_push(&state, &out, &length, message, UInt64(message.count),
                                                                 associated, UInt64(associated.count), tag)
            precondition(rc == 0, "crypto_secretstream_xchacha20poly1305_push failed")
            return out
        }
    }

    /// Opens the messages of one stream in order.
    struct Opener {
        private var state = crypto_secretstream_xchacha20poly1305_state()

        /// nil when the header is not a stream header for this key's format.
        init?(key: [UInt8], header: [UInt8]) {
            Sodium.ensureInitialized()
            guard header.count == SecretStream.headerByteCount,
                  crypto_secretstream_xchacha20poly1305_init_pull(&state, header, key) == 0 else { return nil }
        }

        /// The message and whether it was marked final; nil when it fails
        /// authentication (wrong key, altered, out of place).
        mutating func open(_ ciphertext: [UInt8], associated: [UInt8]) -> (message: [UInt8], final: Bool)? {
            guard ciphertext.count >= SecretStream.overheadByteCount else { return nil }
            var out = [UInt8](repeating: 0, count: ciphertext.count - SecretStream.overheadByteCount)
            var length: UInt64 = 0
            var tag: UInt8 = 0
            guard crypto_secretstream_xchacha20poly1305_pull(&state, &out, &length, &tag, ciphertext, UInt64(ciphertext.count),
                                                             associated, UInt64(associated.count)) == 0 else { return nil }
            return (Array(out.prefix(Int(length))), tag == crypto_secretstream_xchacha20poly1305_tag_final())
        }
    }
}
