import Foundation
import HummingbirdOTP

/// RFC 4648 base32 decoding, written out in the tests so that what the
/// server shows is checked against an independent reading of the standard.
enum Base32Text {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

    /// The bytes of `text` (padding optional); nil for a character outside the alphabet.
    static func decode(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = [], buffer = 0, bits = 0
        for character in text where character != "=" {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            buffer = (buffer << 5) | value
            bits += 5
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8((buffer >> bits) & 0xFF))
            }
        }
        return bytes
    }
}

/// The code an authenticator app shows for a secret as displayed at
/// enrolment: the base32 text decoded here to the key bytes, then RFC 6238.
func authenticatorCode(_ shown: String, offsetSteps: Int = 0) -> String {
    let key = String(decoding: Base32Text.decode(shown) ?? [], as: UTF8.self)
    return String(format: "%06d", TOTP(secret: key).compute(date: Date().addingTimeInterval(TimeInterval(offsetSteps * 30))))
}
