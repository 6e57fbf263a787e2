import CSodium
import Foundation

/// Encrypts PHI column values with XChaCha20-Poly1305 under a per-column
/// sub-key. Every ciphertext is bound to its place (table, column, row id)
/// through the associated data, so a value copied into another row or
/// column fails to decrypt.
///
/// Stored format (version 1):
/// `0x01 | key version (UInt32 big-endian) | nonce (24) | ciphertext + tag (16)`.
/// The header is authenticated too, and the key version lets a rotated key
/// coexist with the old one without trial decryption.
public struct FieldCipher: Sendable {
    public static let formatVersion: UInt8 = 1
    static let headerSize = 1 + 4
    static let nonceSize = 24
    static let tagSize = 16

    public let currentKeyVersion: UInt32
    private let keys: [UInt32: [UInt64: [UInt8]]]
    /// The current version's sub-keys and each field's "table\0column\0"
    /// (the fixed part of the associated data), indexed by the field's id:
    /// a patient list opens hundreds of values per request, and two
    /// dictionary lookups per value showed in its profile.
    private let currentKeys: [[UInt8]]
    private let placePrefixes: [[UInt8]]

    /// `keys` maps key versions to master keys; the newest encrypts.
    public init(masterKeys: [UInt32: MasterKey], currentKeyVersion: UInt32, retainedKeys: [UInt32: [UInt64: [UInt8]]] = [:]) {
        Sodium.ensureInitialized()
        precondition(masterKeys[currentKeyVersion] != nil, "current key version must be present")
        self.currentKeyVersion = currentKeyVersion
        var keys = masterKeys.mapValues { master in
            Dictionary(uniqueKeysWithValues: PHIField.allCases.map {
                ($0.rawValue, master.derive(.fieldEncryption, id: $0.rawValue))
            })
        }
        keys.merge(retainedKeys) { loaded, _ in loaded }
        self.keys = keys
        let slots = Int(PHIField.allCases.map(\.rawValue).max()!) + 1
        var currentKeys = [[UInt8]](repeating: [], count: slots)
        var placePrefixes = [[UInt8]](repeating: [], count: slots)
        for field in PHIField.allCases {
            currentKeys[Int(field.rawValue)] = keys[currentKeyVersion]![field.rawValue]!
            placePrefixes[Int(field.rawValue)] = Array("\(field.table)\u{0}\(field.column)\u{0}".utf8)
        }
        self.currentKeys = currentKeys
        self.placePrefixes = placePrefixes
    }

    public init(masterKey: MasterKey) {
        self.init(masterKeys: [1: masterKey], currentKeyVersion: 1)
    }

    /// The ring's loaded versions, plus the retained field keys of retired
    /// versions (the append-only audit column's).
    public init(ring: KeyRing) {
        self.init(masterKeys: ring.masterKeys, currentKeyVersion: ring.currentVersion, retainedKeys: {
            var extra: [UInt32: [UInt64: [UInt8]]] = [:]
            for field in PHIField.allCases {
                for version in ring.retained.versions(purpose: .fieldEncryption, id: field.rawValue) where ring.masterKeys[version] == nil {
                    extra[version, default: [:]][field.rawValue] = ring.retained.key(version: version, purpose: .fieldEncryption, id: field.rawValue)
                }
            }
            return extra
        }())
    }

    /// The key version a stored value was sealed under.
    public static func keyVersion(of blob: Data) -> UInt32? {
        guard blob.count >= headerSize, blob.first == formatVersion else { return nil }
        return blob.dropFirst().prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    public func seal(_ plaintext: String, field: PHIField, rowID: String) -> Data {
        seal(Data(plaintext.utf8), field: field, rowID: rowID)
    }

    public func seal(_ plaintext: Data, field: PHIField, rowID: String) -> Data {
        let key = keys[currentKeyVersion]![field.rawValue]!
        var header = [Self.formatVersion]
        withUnsafeBytes(of: currentKeyVersion.bigEndian) { header.append(contentsOf: $0) }
        let nonce = SecureRandom.bytes(Self.nonceSize)
        let ad = Self.associatedData(header: header, field: field, rowID: rowID)
        var out = [UInt8](repeating: 0, count: plaintext.count + Self.tagSize)
        var outLen: UInt64 = 0
        let rc = plaintext.withUnsafeBytes { pt in
            crypto_aead_xchacha20poly1305_ietf_encrypt(
                &out, &outLen,
                pt.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(plaintext.count),
                ad, UInt64(ad.count), nil, nonce, key)
        }
        precondition(rc == 0, "xchacha20poly1305 encryption failed")
        return Data(header + nonce + out.prefix(Int(outLen)))
    }

    public func open(_ blob: Data, field: PHIField, rowID: String) throws -> Data {
        try blob.withUnsafeBytes { try open(bytes: $0, field: field, rowID: rowID) { Data($0) } }
    }

    /// Decrypts into the returned string.
    public func openString(_ blob: Data, field: PHIField, rowID: String) throws -> String {
        try blob.withUnsafeBytes { try openString(bytes: $0, field: field, rowID: rowID) }
    }

    /// The same, from bytes lent by the database (see `SQLiteColumns`).
    public func openString(bytes raw: UnsafeRawBufferPointer, field: PHIField, rowID: String) throws -> String {
        try open(bytes: raw, field: field, rowID: rowID) { String(decoding: $0, as: UTF8.self) }
    }

    /// Decrypts bytes lent by the database into a buffer on the stack and
    /// lends the plaintext to `body` (do not keep it past the call).
    public func open<T>(bytes raw: UnsafeRawBufferPointer, field: PHIField, rowID: String,
                        _ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T {
        let prefixSize = Self.headerSize + Self.nonceSize
        guard raw.count >= prefixSize + Self.tagSize, let base = raw.baseAddress else { throw CryptoError.ciphertextTooShort }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        guard bytes[0] == Self.formatVersion else { throw CryptoError.unsupportedCiphertextFormat }
        let version = UInt32(bytes[1]) << 24 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 8 | UInt32(bytes[4])
        let key: [UInt8]
        if version == currentKeyVersion {
            key = currentKeys[Int(field.rawValue)]
        } else {
            guard let older = keys[version]?[field.rawValue] else { throw CryptoError.unknownKeyVersion(version) }
            key = older
        }
        // The associated data (header, place, row id), assembled on the stack.
        let place = placePrefixes[Int(field.rawValue)]
        let cipherLength = raw.count - prefixSize
        var rowID = rowID
        return try rowID.withUTF8 { id in
            try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.headerSize + place.count + id.count) { ad in
                _ = UnsafeMutableBufferPointer(rebasing: ad[..<Self.headerSize]).initialize(fromContentsOf: UnsafeBufferPointer(start: bytes, count: Self.headerSize))
                _ = UnsafeMutableBufferPointer(rebasing: ad[Self.headerSize...]).initialize(fromContentsOf: place)
                _ = UnsafeMutableBufferPointer(rebasing: ad[(Self.headerSize + place.count)...]).initialize(fromContentsOf: id)
                return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(cipherLength - Self.tagSize, 1)) { output in
                    var written: UInt64 = 0
                    let rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
                        output.baseAddress, &written, nil, bytes + prefixSize, UInt64(cipherLength),
                        ad.baseAddress, UInt64(ad.count), bytes + Self.headerSize, key)
                    guard rc == 0 else { throw CryptoError.decryptionFailed }
                    defer { sodium_memzero(output.baseAddress, output.count) }
                    return try body(UnsafeBufferPointer(rebasing: output[..<Int(written)]))
                }
            }
        }
    }

    /// Seals an optional value; nil stays nil (an absent value is not PHI).
    public func seal(optional plaintext: String?, field: PHIField, rowID: String) -> Data? {
        plaintext.map { seal($0, field: field, rowID: rowID) }
    }

    public func openString(optional blob: Data?, field: PHIField, rowID: String) throws -> String? {
        try blob.map { try openString($0, field: field, rowID: rowID) }
    }

    static func associatedData(header: [UInt8], field: PHIField, rowID: String) -> [UInt8] {
        header + Array("\(field.table)\u{0}\(field.column)\u{0}\(rowID)".utf8)
    }
}
