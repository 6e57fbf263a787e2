import Foundation

/// The format of patient registration keys: `XXXX-XXXX-XXXX` drawn
/// uniformly by libsodium's CSPRNG from 31 upper-case characters that cannot
/// be confused when read aloud or printed (no 0/O, 1/I/L). 12 characters
/// of 31 give 12 × log2(31) ≈ 59.4 bits: with the per-address attempt limit,
/// the 48-hour lifetime and one-time use, guessing a live key is hopeless.
public enum RegistrationKey {
    public static let alphabet = Array("ABCDEFGHJKMNPQRSTUVWXYZ23456789")
    public static let length = 12
    public static var entropyBits: Double { Double(length) * log2(Double(alphabet.count)) }

    public static func generate() -> String {
        let raw = SecureRandom.string(length: length, alphabet: alphabet)
        return stride(from: 0, to: length, by: 4).map { offset in
            let start = raw.index(raw.startIndex, offsetBy: offset)
            return String(raw[start..<raw.index(start, offsetBy: 4)])
        }.joined(separator: "-")
    }

    /// The canonical form compared and hashed: dashes and spaces removed,
    /// upper case. nil when the input cannot be a key.
    public static func canonical(_ input: String) -> String? {
        let stripped = input.uppercased().filter { $0 != "-" && !$0.isWhitespace }
        guard stripped.count == length, stripped.allSatisfy(alphabet.contains) else { return nil }
        return stripped
    }
}
