import Foundation
import HummingbirdOTP
import Testing
@testable import RecoveryCore

@Suite struct TOTPTests {
    /// RFC 6238 appendix B, SHA-1, 8 digits, secret "12345678901234567890".
    @Test(arguments: [(59, 94_287_082), (1_111_111_109, 7_081_804), (1_111_111_111, 14_050_471), (1_234_567_890, 89_005_924), (2_000_000_000, 69_279_037)])
    func matchesRFC6238(time: Int, expected: Int) {
        let totp = TOTP(secret: "12345678901234567890", length: 8)
        #expect(totp.compute(date: Date(timeIntervalSince1970: TimeInterval(time))) == expected)
    }

    /// The secret shown at enrolment is RFC 4648 base32 of the key's bytes:
    /// RFC 6238's key "12345678901234567890" is GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
    /// (the text its test vectors are entered with), and the otpauth URI
    /// carries the same text. (MFATests signs in with a code computed from it.)
    @Test func theShownSecretIsBase32OfTheKeyBytes() {
        #expect(TOTPFactor.displayed("12345678901234567890") == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        let secret = TOTPFactor.newSecret()
        let shown = TOTPFactor.displayed(secret)
        #expect(shown.count == 52 && shown.allSatisfy { "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".contains($0) })
        #expect(TOTPFactor.uri(secret: secret, account: "a@b.org", issuer: "Clinic").contains("secret=\(shown)&"))
    }

    @Test func acceptsOneStepOfDriftAndNeverTheSameStepTwice() {
        let secret = TOTPFactor.newSecret()
        let now = Date(timeIntervalSince1970: 1_800_000_015)
        let step = 1_800_000_015 / 30
        func code(_ s: Int) -> String { String(format: "%06d", TOTP(secret: secret).compute(date: Date(timeIntervalSince1970: TimeInterval(s * 30)))) }
        #expect(TOTPFactor.matchingStep(code: code(step), secret: secret, lastUsedStep: nil, at: now) == step)
        #expect(TOTPFactor.matchingStep(code: code(step - 1), secret: secret, lastUsedStep: nil, at: now) == step - 1)
        #expect(TOTPFactor.matchingStep(code: code(step + 1), secret: secret, lastUsedStep: nil, at: now) == step + 1)
        #expect(TOTPFactor.matchingStep(code: code(step - 2), secret: secret, lastUsedStep: nil, at: now) == nil)
        #expect(TOTPFactor.matchingStep(code: code(step), secret: secret, lastUsedStep: step, at: now) == nil)
        #expect(TOTPFactor.matchingStep(code: "12345", secret: secret, lastUsedStep: nil, at: now) == nil)
    }

    @Test func secretsAndRecoveryCodesAreRandom() {
        #expect(TOTPFactor.newSecret().count == 32)
        #expect(TOTPFactor.newSecret() != TOTPFactor.newSecret())
        let codes = TOTPFactor.newRecoveryCodes()
        #expect(Set(codes).count == 10)
        #expect(TOTPFactor.canonicalRecoveryCode(" K7QM2-X9FTH ") == "k7qm2x9fth")
    }
}
