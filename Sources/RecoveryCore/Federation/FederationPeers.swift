import Foundation
import GRDB

/// Central's side of enrolment: the super admin creates a one-time code for a
/// clinic (stored only as a keyed hash, valid `codeLifetimeHours`), the clinic
/// redeems it with its public key, and the super admin lists and revokes
/// clinics. A revoked clinic's payloads are refused.
public struct FederationPeers: Sendable {
    let appliance: Appliance

    public init(appliance: Appliance) { self.appliance = appliance }

    public static let codeLifetimeHours = 72
    /// 20 characters of the registration keys' 31 unambiguous ones: about 99 bits.
    public static let codeLength = 20

    public struct Peer: Sendable {
        public let id: String
        public let name: String
        public let status: String
        public let enrolledAt: String?
        public let lastSeenAt: String?
        public let lastSequence: Int
        public let expiresAt: String?
        public let revokedAt: String?
        public let createdAt: String
    }

    public struct Enrollment: Sendable {
        public let peerID: String
        public let code: String
        public let expiresAt: String
    }

    public struct Redeemed: Sendable {
        public let clinicID: String
        public let name: String
        public let centralPublicKey: Data
    }

    static func requireCentral(_ appliance: Appliance) throws {
        guard appliance.settings.mode == .central else { throw FederationError.wrongMode(expected: "central") }
    }

    public static func generateCode() -> String {
        let raw = SecureRandom.string(length: codeLength, alphabet: RegistrationKey.alphabet)
        return stride(from: 0, to: codeLength, by: 5).map { offset in
            let start = raw.index(raw.startIndex, offsetBy: offset)
            return String(raw[start..<raw.index(start, offsetBy: 5)])
        }.joined(separator: "-")
    }

    static func canonicalCode(_ input: String) -> String? {
        let stripped = input.uppercased().filter { $0 != "-" && !$0.isWhitespace }
        guard stripped.count == codeLength, stripped.allSatisfy(RegistrationKey.alphabet.contains) else { return nil }
        return stripped
    }

    public func createEnrollment(_ identity: Identity, facilityName: String, origin: RequestOrigin) async throws -> Enrollment {
        try Self.requireCentral(appliance)
        try AccessPolicy.require(identity, .federationCentral)
        let name = facilityName.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(name.count) else { throw FederationError.invalid(field: "facility_name", issue: "must be 1 to 200 characters") }
        let code = Self.generateCode()
        let id = RowID.make()
        let expiresAt = Timestamp.string(Date().addingTimeInterval(Double(Self.codeLifetimeHours) * 3_600))
        let index = appliance.blindIndex.secretIndex(Self.canonicalCode(code)!, for: .federationPeersEnrollmentToken)
        try await appliance.database.pool.write { db in
            _ = try FederationIdentity.centralIdentity(appliance, in: db)
            try db.execute(sql: """
                INSERT INTO federation_peers (id, role, name, enrollment_status, enrollment_token_bidx, enrollment_expires_at)
                VALUES (?, 'clinic', ?, 'pending', ?, ?)
                """, arguments: [id, name, index, expiresAt])
            try appliance.audit.append(AuditEvent(action: "federation.enrollment_create", outcome: .success, actorKind: .staff,
                                                  actorID: identity.subjectID, resourceType: "federation_peer", resourceID: id,
                                                  ipAddress: origin.ipAddress, requestID: origin.requestID), in: db)
        }
        return Enrollment(peerID: id, code: code, expiresAt: expiresAt)
    }

    /// A clinic redeems its code with its public key: the code works once and
    /// only before it expires; wrong, expired and used codes answer alike and
    /// count against the client address like failed registrations (429 beyond the limit).
    public func redeem(code: String, publicKey: Data, origin: RequestOrigin) async throws -> Redeemed {
        try Self.requireCentral(appliance)
        guard publicKey.count == SigningKey.publicKeyLength else {
            throw FederationError.invalid(field: "public_key", issue: "must be a base64 Ed25519 public key (32 bytes)")
        }
        let throttle = appliance.throttle
        let reservation = try await appliance.database.pool.write { db in
            try throttle.reserve(.registration, account: nil, address: origin.ipAddress, in: db)
        }
        let lookup = Self.canonicalCode(code).map { appliance.blindIndex.secretLookup($0, for: .federationPeersEnrollmentToken) }
        let now = Timestamp.now()
        return try await appliance.database.pool.write { db in
            guard let lookup, let row = try Row.fetchOne(db, sql: """
                SELECT id, name FROM federation_peers
                WHERE \(lookup.sql("enrollment_token_bidx")) AND role = 'clinic' AND enrollment_status = 'pending' AND enrollment_expires_at > ?
                """, arguments: lookup.arguments + [now]) else { throw FederationError.invalidEnrollmentCode }
            try throttle.release(reservation, in: db)
            let id: String = row["id"]
            try db.execute(sql: """
                UPDATE federation_peers SET public_key = ?, enrollment_status = 'active', enrollment_token_bidx = NULL,
                  enrolled_at = ?, updated_at = ? WHERE id = ?
                """, arguments: [publicKey, now, now, id])
            let central = try FederationIdentity.centralIdentity(appliance, in: db)
            try appliance.audit.append(AuditEvent(action: "federation.enrollment_redeem", outcome: .success, actorKind: .system,
                                                  resourceType: "federation_peer", resourceID: id,
                                                  ipAddress: origin.ipAddress, requestID: origin.requestID), in: db)
            return Redeemed(clinicID: id, name: row["name"], centralPublicKey: central.key.publicKey)
        }
    }

    public func list(_ identity: Identity) async throws -> [Peer] {
        try Self.requireCentral(appliance)
        try AccessPolicy.require(identity, .federationCentral)
        return try await appliance.database.read { db in
            try Row.fetchAll(db, sql: "\(Self.select) WHERE role = 'clinic' ORDER BY created_at, id").map(Self.peer)
        }
    }

    public func revoke(_ identity: Identity, peerID: String, origin: RequestOrigin) async throws -> Peer {
        try Self.requireCentral(appliance)
        try AccessPolicy.require(identity, .federationCentral)
        let now = Timestamp.now()
        return try await appliance.database.pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM federation_peers WHERE id = ? AND role = 'clinic'", arguments: [peerID]) != nil else {
                throw FederationError.peerNotFound
            }
            try db.execute(sql: """
                UPDATE federation_peers SET enrollment_status = 'revoked', enrollment_token_bidx = NULL,
                  revoked_at = coalesce(revoked_at, ?), updated_at = ? WHERE id = ?
                """, arguments: [now, now, peerID])
            try appliance.audit.append(AuditEvent(action: "federation.peer_revoke", outcome: .success, actorKind: .staff,
                                                  actorID: identity.subjectID, resourceType: "federation_peer", resourceID: peerID,
                                                  ipAddress: origin.ipAddress, requestID: origin.requestID), in: db)
            return try Row.fetchOne(db, sql: "\(Self.select) WHERE id = ?", arguments: [peerID]).map(Self.peer)!
        }
    }

    static let select = """
        SELECT id, name, enrollment_status, enrolled_at, last_seen_at, last_sequence, enrollment_expires_at, revoked_at, created_at
        FROM federation_peers
        """

    static func peer(_ row: Row) -> Peer {
        Peer(id: row["id"], name: row["name"], status: row["enrollment_status"], enrolledAt: row["enrolled_at"],
             lastSeenAt: row["last_seen_at"], lastSequence: row["last_sequence"], expiresAt: row["enrollment_expires_at"],
             revokedAt: row["revoked_at"], createdAt: row["created_at"])
    }
}
