import CSodium
import Foundation
import JWTKit
import Synchronization

/// Short-lived JWT access tokens (HS256 with a key derived from the master
/// key). A token names its subject, kind, role, facility and session; a
/// session that was ended is refused at once through `RevokedSessions`.
public final class AccessTokens: Sendable {
    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim
        var iat: IssuedAtClaim
        var iss: IssuerClaim
        var knd: String
        var rol: String?
        var fid: String?
        var sid: String

        func verify(using algorithm: some JWTAlgorithm) throws {
            try exp.verifyNotExpired()
            guard iss.value == AccessTokens.issuer else { throw JWTError.claimVerificationFailure(failedClaim: iss, reason: "issuer") }
        }
    }

    static let issuer = "recovery-appliance"
    public let lifetimeSeconds: Int
    private let keys = JWTKeyCollection()
    /// During a key rotation, the retiring version's key: tokens it signed
    /// stay valid until the rotation ends (then a client refreshes once).
    private let olderKeys: JWTKeyCollection?
    private let ready: Task<Void, Never>

    public convenience init(masterKey: MasterKey, lifetimeSeconds: Int) {
        self.init(ring: KeyRing(single: masterKey), lifetimeSeconds: lifetimeSeconds)
    }

    public init(ring: KeyRing, lifetimeSeconds: Int) {
        self.lifetimeSeconds = lifetimeSeconds
        let secret = ring.current.derive(.tokens, id: 1)
        let older = ring.retiringVersion.flatMap { ring.masterKeys[$0] }?.derive(.tokens, id: 1)
        let keys = self.keys
        let olderKeys = older.map { _ in JWTKeyCollection() }
        self.olderKeys = olderKeys
        ready = Task {
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            if let older, let olderKeys { await olderKeys.add(hmac: HMACKey(from: older), digestAlgorithm: .sha256) }
        }
    }

    /// A signed token for `identity`, valid for `lifetimeSeconds`.
    public func issue(for identity: Identity) async throws -> String {
        await ready.value
        let now = Date()
        let claims = Claims(
            sub: .init(value: identity.subjectID), exp: .init(value: now.addingTimeInterval(TimeInterval(lifetimeSeconds))),
            iat: .init(value: now), iss: .init(value: Self.issuer), knd: identity.kind.rawValue,
            rol: identity.role?.rawValue, fid: identity.facilityID, sid: identity.sessionID)
        return try await keys.sign(claims)
    }

    /// The identity in a valid, unexpired token; nil for anything else.
    public func verify(_ token: String) async -> Identity? {
        let fingerprint = Sodium.fingerprint(token)  // the cache holds no usable token
        if let known = verified.withLock({ $0[fingerprint] }), known.expires > Date() { return known.identity }
        await ready.value
        var claims = try? await keys.verify(token, as: Claims.self)
        if claims == nil, let olderKeys { claims = try? await olderKeys.verify(token, as: Claims.self) }
        guard let claims,
              let kind = Identity.Kind(rawValue: claims.knd) else { return nil }
        let role = claims.rol.flatMap(StaffRole.init(rawValue:))
        if kind == .staff && role == nil { return nil }
        let identity = Identity(kind: kind, subjectID: claims.sub.value, role: role, facilityID: claims.fid, sessionID: claims.sid,
                                issuedAt: claims.iat.value)
        verified.withLock { cache in
            if cache.count >= Self.verifiedCapacity { cache.removeAll(keepingCapacity: true) }
            cache[fingerprint] = Verified(identity: identity, expires: claims.exp.value)
        }
        return identity
    }

    /// Tokens already verified, by fingerprint, until they expire: a client
    /// sends the same token with every request, and checking its signature
    /// and decoding its claims each time (through JWTKit's key actor, which
    /// every request queued for) was a large share of a small request.
    /// Revocation is unaffected: `AuthService` checks the session on every
    /// request, cached or not. Emptied when full (a bound, not an LRU).
    private let verified = Mutex<[Data: Verified]>([:])
    static let verifiedCapacity = 20_000

    struct Verified {
        let identity: Identity
        let expires: Date
    }
}
