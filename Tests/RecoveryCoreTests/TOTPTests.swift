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
