import ExtrasBase64
import Foundation
import HummingbirdOTP

/// Time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits, 30 s) for
/// the staff second factor, with a one-step tolerance for clock drift and a
/// replay guard: a code's time step must be newer than the last one used.
public enum TOTPFactor {
    static let base32 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    public static let stepSeconds = 30

    /// A new shared secret: 32 random base32 characters (160 bits). The HMAC
    /// key is the UTF-8 bytes of this text, as HummingbirdOTP uses it.
    public static func newSecret() -> String {
        SecureRandom.string(length: 32, alphabet: base32)
    }

    /// The key as an authenticator app takes it when typed in: RFC 4648
    /// base32, without padding, of the exact bytes codes are checked with
    /// (52 characters). The `otpauth://` URI carries the same text.
    public static func displayed(_ secret: String) -> String {
        String(base32Encoding: secret.utf8, options: .omitPaddingCharacter)
    }

    /// The `otpauth://` URI an authenticator app scans.
    public static func uri(secret: String, account: String, issuer: String) -> String {
        TOTP(secret: secret).createAuthenticatorURL(label: "\(issuer):\(account)", issuer: issuer)
    }

    /// The time step the code belongs to, when it is valid now and newer than
    /// `lastUsedStep`; nil otherwise.
    public static func matchingStep(code: String, secret: String, lastUsedStep: Int?, at date: Date = Date()) -> Int? {
        let digits = code.filter { !$0.isWhitespace }
        guard digits.count == 6, let value = Int(digits) else { return nil }
        let totp = TOTP(secret: secret)
        let current = Int(date.timeIntervalSince1970) / stepSeconds
        for step in [current, current - 1, current + 1] where step > (lastUsedStep ?? Int.min) {
            let expected = totp.compute(date: Date(timeIntervalSince1970: TimeInterval(step * stepSeconds)))
            if ConstantTime.equals(Array(String(format: "%06d", expected).utf8), Array(String(format: "%06d", value).utf8)) {
                return step
            }
        }
        return nil
    }

    /// Ten single-use recovery codes like `k7qm2-x9fth`.
    public static func newRecoveryCodes() -> [String] {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        return (0..<10).map { _ in SecureRandom.string(length: 5, alphabet: alphabet) + "-" + SecureRandom.string(length: 5, alphabet: alphabet) }
    }

    /// Recovery codes compare without dashes, spaces or case.
    public static func canonicalRecoveryCode(_ input: String) -> String {
        input.lowercased().filter { $0.isLetter || $0.isNumber }
    }
}
