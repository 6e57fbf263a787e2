import CSodium
import Foundation
import GRDB

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
    /// The retiring version's sync payload key during a rotation.
    private let olderSyncPayloadKeys: [[UInt8]]

    /// Older versions' keys per field, tried by lookups: the retiring
    /// version's during a rotation, retained ones for secrets (`RetainedSubkeys`).
    private let olderKeys: [UInt64: [[UInt8]]]

    public init(masterKey: MasterKey) {
        self.init(ring: KeyRing(single: masterKey))
    }

    /// Writes with the ring's current version; lookups also try older ones.
    public init(ring: KeyRing) {
        Sodium.ensureInitialized()
        keys = Dictionary(uniqueKeysWithValues: BlindIndexField.allCases.map {
            ($0.rawValue, ring.current.derive(.blindIndex, id: $0.rawValue))
        })
        olderKeys = Dictionary(uniqueKeysWithValues: BlindIndexField.allCases.map {
            ($0.rawValue, ring.subkeys(.blindIndex, id: $0.rawValue).dropFirst().map(\.key))
        })
        syncPayloadKey = ring.current.derive(.blindIndex, id: Self.syncPayloadKeyID)
        olderSyncPayloadKeys = ring.subkeys(.blindIndex, id: Self.syncPayloadKeyID).dropFirst().map(\.key)
    }

    /// The digests to look a value up by: the current version's first, then
    /// older versions' that rows may still carry (during a rotation, and for
    /// secrets whose index cannot be rebuilt).
    public struct Lookup: Sendable {
        public let digests: [Data]

        /// `column IN (?, ...)`, one placeholder per digest.
        public func sql(_ column: String) -> String {
            digests.count == 1 ? "\(column) = ?" : "\(column) IN (" + digests.map { _ in "?" }.joined(separator: ", ") + ")"
        }

        public var arguments: StatementArguments { StatementArguments(digests) }
    }

    /// Lookup of a human-entered value (normalised first).
    public func lookup(_ value: String, for field: BlindIndexField) -> Lookup {
        lookup(Array(Self.normalise(value).utf8), for: field, length: Self.phiLength)
    }

    /// Lookup of a secret in canonical form.
    public func secretLookup(_ canonical: String, for field: BlindIndexField) -> Lookup {
        lookup(Array(canonical.utf8), for: field, length: Self.secretLength)
    }

    func lookup(_ bytes: [UInt8], for field: BlindIndexField, length: Int) -> Lookup {
        var digests = [digest(bytes, for: field, length: length)]
        for key in olderKeys[field.rawValue] ?? [] {
            let older = Self.digest(bytes, key: key, length: length)
            if !digests.contains(older) { digests.append(older) }
        }
        return Lookup(digests: digests)
    }

    /// A keyed fingerprint of a sync item (which may hold PHI), to tell a
    /// replay from a changed item without storing the payload.
    public func syncPayloadDigest(_ bytes: [UInt8]) -> Data {
        Self.digest(bytes, key: syncPayloadKey, length: 32)
    }

    /// The fingerprints a stored one may be, to recognise a replay: the
    /// current version's first, then the retiring version's during a key
    /// rotation (an item first pushed before the server switched keys).
    public func syncPayloadDigests(_ bytes: [UInt8]) -> [Data] {
        [syncPayloadDigest(bytes)] + olderSyncPayloadKeys.map { Self.digest(bytes, key: $0, length: 32) }
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
        Self.digest(bytes, key: keys[field.rawValue]!, length: length)
    }

    static func digest(_ bytes: [UInt8], key: [UInt8], length: Int) -> Data {
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
