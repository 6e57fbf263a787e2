import CSodium
import Foundation

/// Keyed BLAKE2b over a normalised value, for exact-match lookups on
/// encrypted columns (login by email, name search, registration keys) without
/// storing the value. Each indexed column has its own key, so equal values in
/// different columns do not produce equal index entries.
///
/// PHI indexes are truncated to 16 bytes; a lookup may in theory return a
/// false match, so callers decrypt and compare before trusting a row. Secrets
/// (registration keys, refresh tokens) use the full 32 bytes.
public struct BlindIndex: Sendable {
    public static let phiLength = 16
    public static let secretLength = 32
    private let keys: [UInt64: [UInt8]]
    /// Sub-key ids from 1,000,000 up are reserved for digests that are not
    /// columns; 1,000,001 fingerprints sync payloads.
    static let syncPayloadKeyID: UInt64 = 1_000_001
    private let syncPayloadKey: [UInt8]

    public init(masterKey: MasterKey) {
        Sodium.ensureInitialized()
        keys = Dictionary(uniqueKeysWithValues: BlindIndexField.allCases.map {
            ($0.rawValue, masterKey.derive(.blindIndex, id: $0.rawValue))
        })
        syncPayloadKey = masterKey.derive(.blindIndex, id: Self.syncPayloadKeyID)
    }

    /// A keyed fingerprint of a sync item (which may hold PHI), to tell a
    /// replay from a changed item without storing the payload.
    public func syncPayloadDigest(_ bytes: [UInt8]) -> Data {
        var out = [UInt8](repeating: 0, count: 32)
        crypto_generichash(&out, 32, bytes, UInt64(bytes.count), syncPayloadKey, syncPayloadKey.count)
        return Data(out)
    }

    /// Index of a human-entered value (name, email): normalised first.
    public func index(_ value: String, for field: BlindIndexField) -> Data {
        digest(Array(Self.normalise(value).utf8), for: field, length: Self.phiLength)
    }

    /// Index of a secret already in canonical form (a token or key).
    public func secretIndex(_ canonical: String, for field: BlindIndexField) -> Data {
        digest(Array(canonical.utf8), for: field, length: Self.secretLength)
    }

    public func digest(_ bytes: [UInt8], for field: BlindIndexField, length: Int) -> Data {
        let key = keys[field.rawValue]!
        var out = [UInt8](repeating: 0, count: length)
        let rc = crypto_generichash(&out, length, bytes, UInt64(bytes.count), key, key.count)
        precondition(rc == 0, "crypto_generichash failed")
        return Data(out)
    }

    /// Unicode NFKC, lower-cased, trimmed, inner white space collapsed to one
    /// space: "  ÉMILE  Dupont " and "émile dupont" index alike.
    public static func normalise(_ value: String) -> String {
        value.precomposedStringWithCompatibilityMapping
            .lowercased()
            .split(whereSeparator: { $0.isWhitespace })
            .joined(separator: " ")
    }
}
