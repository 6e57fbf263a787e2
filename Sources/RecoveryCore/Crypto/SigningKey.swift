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
/// row it is stored in: `nonce (24) | ciphertext + tag`.
/// With a key ring, seals under the current version and opens with any
/// loaded version (a key rotation re-seals the stored seed).
public struct SigningKeySeal: Sendable {
    private let key: [UInt8]
    private let olderKeys: [[UInt8]]
    static let nonceLength = 24
    static let tagLength = 16

    public init(masterKey: MasterKey) {
        self.init(ring: KeyRing(single: masterKey))
    }

    public init(ring: KeyRing) {
        key = ring.current.derive(.federationSigning)
        olderKeys = ring.masterKeys.filter { $0.key != ring.currentVersion }.map { $0.value.derive(.federationSigning) }
    }

    public func seal(_ signingKey: SigningKey, rowID: String) -> Data {
        let nonce = SecureRandom.bytes(Self.nonceLength)
        let ad = Array("federation_identity:\(rowID)".utf8)
        var out = [UInt8](repeating: 0, count: SigningKey.seedLength + Self.tagLength)
        var outLength: UInt64 = 0
        _ = crypto_aead_xchacha20poly1305_ietf_encrypt(&out, &outLength, signingKey.seed, UInt64(SigningKey.seedLength),
                                                       ad, UInt64(ad.count), nil, nonce, key)
        return Data(nonce + out.prefix(Int(outLength)))
    }

    public func open(_ sealed: Data, rowID: String) throws -> SigningKey {
        let nonceLength = Self.nonceLength
        let bytes = Array(sealed)
        guard bytes.count == nonceLength + SigningKey.seedLength + Self.tagLength else {
            throw CryptoError.ciphertextTooShort
        }
        let ad = Array("federation_identity:\(rowID)".utf8)
        let cipher = Array(bytes[nonceLength...])
        for key in [key] + olderKeys {
            var seed = [UInt8](repeating: 0, count: SigningKey.seedLength)
            var seedLength: UInt64 = 0
            if crypto_aead_xchacha20poly1305_ietf_decrypt(&seed, &seedLength, nil, cipher, UInt64(cipher.count), ad, UInt64(ad.count),
                                                          Array(bytes[..<nonceLength]), key) == 0, seedLength == UInt64(SigningKey.seedLength) {
                return SigningKey(seed: seed)
            }
        }
        throw CryptoError.decryptionFailed
    }
}
