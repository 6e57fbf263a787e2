import CSodium
import Foundation

/// An Ed25519 key pair (libsodium `crypto_sign`): a federated clinic signs
/// its payloads with it, and central signs its receipts, so each side can
/// check the other against the public key it pinned at enrolment.
public struct SigningKey: Sendable {
    public static let seedLength = 32
    public static let publicKeyLength = 32
    public static let signatureLength = 64

    /// The 32 random bytes the pair is derived from; the only part stored (sealed).
    let seed: [UInt8]
    public let publicKey: Data
    private let secretKey: [UInt8]

    public static func generate() -> SigningKey {
        SigningKey(seed: SecureRandom.bytes(seedLength))
    }

    init(seed: [UInt8]) {
        precondition(seed.count == Self.seedLength)
        Sodium.ensureInitialized()
        var publicKey = [UInt8](repeating: 0, count: Self.publicKeyLength)
        var secretKey = [UInt8](repeating: 0, count: 64)
        _ = crypto_sign_seed_keypair(&publicKey, &secretKey, seed)
        self.seed = seed
        self.publicKey = Data(publicKey)
        self.secretKey = secretKey
    }

    /// The detached 64-byte signature of `message`.
    public func sign(_ message: some Collection<UInt8>) -> Data {
        var signature = [UInt8](repeating: 0, count: Self.signatureLength)
        let bytes = Array(message)
        _ = crypto_sign_detached(&signature, nil, bytes, UInt64(bytes.count), secretKey)
        return Data(signature)
    }

    /// Whether `signature` is `publicKey`'s signature of `message`.
    public static func verify(_ signature: Data, of message: some Collection<UInt8>, publicKey: Data) -> Bool {
        Sodium.ensureInitialized()
        guard signature.count == signatureLength, publicKey.count == publicKeyLength else { return false }
        let bytes = Array(message)
        return crypto_sign_verify_detached(Array(signature), bytes, UInt64(bytes.count), Array(publicKey)) == 0
    }
}

/// Seals a signing key's seed for storage with XChaCha20-Poly1305 under a key
/// derived from the master key (`KeyPurpose.federationSigning`), bound to the
/// row it is stored in. Format: `0x01 | key version (UInt32 big-endian) |
/// nonce (24) | ciphertext + tag` (77 bytes), the header authenticated too,
/// like `FieldCipher`'s: the version lets a key rotation's guard and final
/// check see which key a stored seal is under. Seals from before key versions
/// (`nonce | ciphertext + tag`, 72 bytes) still open, with any loaded key.
public struct SigningKeySeal: Sendable {
    private let currentVersion: UInt32
    private let keys: [UInt32: [UInt8]]
    static let formatVersion: UInt8 = 1
    static let headerLength = 5
    static let nonceLength = 24
    static let tagLength = 16
    /// The length of a seal in the current format.
    public static let sealedLength = headerLength + nonceLength + SigningKey.seedLength + tagLength

    public init(masterKey: MasterKey) {
        self.init(ring: KeyRing(single: masterKey))
    }

    public init(ring: KeyRing) {
        currentVersion = ring.currentVersion
        keys = ring.masterKeys.mapValues { $0.derive(.federationSigning) }
    }

    public func seal(_ signingKey: SigningKey, rowID: String) -> Data {
        var header = [Self.formatVersion]
        withUnsafeBytes(of: currentVersion.bigEndian) { header.append(contentsOf: $0) }
        let nonce = SecureRandom.bytes(Self.nonceLength)
        let ad = header + Array("federation_identity:\(rowID)".utf8)
        var out = [UInt8](repeating: 0, count: SigningKey.seedLength + Self.tagLength)
        var outLength: UInt64 = 0
        _ = crypto_aead_xchacha20poly1305_ietf_encrypt(&out, &outLength, signingKey.seed, UInt64(SigningKey.seedLength),
                                                       ad, UInt64(ad.count), nil, nonce, keys[currentVersion]!)
        return Data(header + nonce + out.prefix(Int(outLength)))
    }

    /// The key version a stored seal is under; nil for a seal from before key versions.
    public static func keyVersion(of sealed: Data) -> UInt32? {
        guard sealed.count == sealedLength, sealed.first == formatVersion else { return nil }
        return sealed.dropFirst().prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    public func open(_ sealed: Data, rowID: String) throws -> SigningKey {
        let bytes = Array(sealed)
        let place = Array("federation_identity:\(rowID)".utf8)
        if let version = Self.keyVersion(of: sealed) {
            guard let key = keys[version] else { throw CryptoError.unknownKeyVersion(version) }
            if let seed = Self.open(Array(bytes[Self.headerLength...]), ad: Array(bytes[..<Self.headerLength]) + place, key: key) {
                return SigningKey(seed: seed)
            }
            throw CryptoError.decryptionFailed
        }
        guard bytes.count == Self.nonceLength + SigningKey.seedLength + Self.tagLength else { throw CryptoError.ciphertextTooShort }
        for version in keys.keys.sorted(by: >) {
            if let seed = Self.open(bytes, ad: place, key: keys[version]!) { return SigningKey(seed: seed) }
        }
        throw CryptoError.decryptionFailed
    }

    /// `nonce | ciphertext + tag` opened with `key`, or nil.
    private static func open(_ bytes: [UInt8], ad: [UInt8], key: [UInt8]) -> [UInt8]? {
        guard bytes.count == nonceLength + SigningKey.seedLength + tagLength else { return nil }
        let cipher = Array(bytes[nonceLength...])
        var seed = [UInt8](repeating: 0, count: SigningKey.seedLength)
        var seedLength: UInt64 = 0
        guard crypto_aead_xchacha20poly1305_ietf_decrypt(&seed, &seedLength, nil, cipher, UInt64(cipher.count), ad, UInt64(ad.count),
                                                         Array(bytes[..<nonceLength]), key) == 0,
              seedLength == UInt64(SigningKey.seedLength) else { return nil }
        return seed
    }
}
