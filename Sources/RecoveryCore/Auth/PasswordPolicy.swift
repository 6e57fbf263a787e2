import Foundation

/// The password rules (NIST SP 800-63B style): long enough, not absurdly
/// long, not the account's email, not a well-known password. No composition
/// rules: they make passwords harder to remember, not to guess.
public struct PasswordPolicy: Sendable {
    public var minLength: Int
    public var maxLength: Int

    public init(minLength: Int = 12, maxLength: Int = 128) {
        self.minLength = minLength
        self.maxLength = maxLength
    }

    public init(settings: Settings) {
        self.init(minLength: settings.passwordMinLength, maxLength: settings.passwordMaxLength)
    }

    /// Why `password` is refused, or nil when it is acceptable.
    public func problem(with password: String, email: String?) -> String? {
        let length = password.count
        if length < minLength { return "must be at least \(minLength) characters" }
        if length > maxLength { return "must be at most \(maxLength) characters" }
        let folded = BlindIndex.normalise(password)
        if let email, folded == BlindIndex.normalise(email) || folded == BlindIndex.normalise(email.split(separator: "@").first.map(String.init) ?? "") {
            return "must not be the email address"
        }
        if CommonPasswords.contains(folded) { return "is too common; choose a less guessable one" }
        if Set(folded).count <= 2 { return "is too repetitive" }
        return nil
    }

    /// A random password that satisfies the policy: 4 groups of 5 characters
    /// from an unambiguous alphabet (about 103 bits).
    public static func generate() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789")
        return (0..<4).map { _ in SecureRandom.string(length: 5, alphabet: alphabet) }.joined(separator: "-")
    }
}
