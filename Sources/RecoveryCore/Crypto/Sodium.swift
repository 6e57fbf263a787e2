import CSodium

/// libsodium must be initialised once before use; `sodium_init` is thread-safe
/// and idempotent, and this wrapper makes every crypto type call it first.
enum Sodium {
    private static let ready: Bool = sodium_init() >= 0

    static func ensureInitialized() {
        precondition(ready, "libsodium failed to initialise")
    }
}
