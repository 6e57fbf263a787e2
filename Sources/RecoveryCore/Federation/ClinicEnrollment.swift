import Foundation
import GRDB

/// The clinic's side of enrolment (`recovery-server federation enroll`):
/// make the signing key pair, send the public key with the one-time code,
/// and keep what central answers: the id it knows the clinic by and its
/// receipts' public key, pinned for every later exchange.
public enum ClinicEnrollment {
    public struct Outcome: Sendable {
        public let clinicID: String
        public let name: String
        public let centralURL: String
        /// Hex fingerprint (BLAKE2b-256) of central's pinned public key, to compare out of band.
        public let centralKeyFingerprint: String
    }

    public static func enroll(_ appliance: Appliance, central: String, code: String, allowPlainHTTP: Bool,
                              transport: FederationTransport) async throws -> Outcome {
        guard appliance.settings.mode == .clinic else { throw FederationError.wrongMode(expected: "clinic") }
        let url = try CentralAddress.validate(central, allowPlainHTTP: allowPlainHTTP || appliance.settings.federationAllowPlainHTTP)
        let enrolled = try await appliance.database.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM federation_identity WHERE clinic_id IS NOT NULL") ?? false
        }
        guard !enrolled else { throw FederationError.alreadyEnrolled }
        let key = SigningKey.generate()
        let body = JSONValue.object(["code": .string(code), "public_key": .string(key.publicKey.base64EncodedString())]).canonicalText
        let (status, answer) = try await transport(url.appendingPathComponent("api/v1/federation/enroll"), Data(body.utf8))
        guard status == 201 || status == 200 else {
            throw status == 400 ? FederationError.invalidEnrollmentCode : FederationError.centralUnreachable("central_http_\(status)")
        }
        guard case .object(let fields)? = try? JSONParser.parse(Array(answer)),
              case .string(let clinicID)? = fields["clinic_id"], UUID(uuidString: clinicID) != nil,
              case .string(let name)? = fields["name"],
              case .string(let keyText)? = fields["central_public_key"], let centralKey = Data(base64Encoded: keyText),
              centralKey.count == SigningKey.publicKeyLength else {
            throw FederationError.centralUnreachable("central_answer_unreadable")
        }
        let identityID = RowID.make(), peerID = RowID.make()
        try await appliance.database.pool.write { db in
            try db.execute(sql: """
                INSERT INTO federation_peers (id, role, name, base_url, public_key, enrollment_status, enrolled_at)
                VALUES (?, 'central', 'central', ?, ?, 'active', ?)
                """, arguments: [peerID, url.absoluteString, centralKey, Timestamp.now()])
            try db.execute(sql: """
                INSERT INTO federation_identity (id, public_key, secret_key_sealed, clinic_id, central_peer_id) VALUES (?, ?, ?, ?, ?)
                """, arguments: [identityID, key.publicKey, appliance.signingKeySeal.seal(key, rowID: identityID), clinicID.lowercased(), peerID])
            try appliance.audit.append(AuditEvent(action: "federation.enroll", outcome: .success, actorKind: .system,
                                                  resourceType: "federation_peer", resourceID: peerID), in: db)
        }
        let fingerprint = FederationReceipt.digest(centralKey.base64EncodedString()).map { String(format: "%02x", $0) }.joined()
        return Outcome(clinicID: clinicID.lowercased(), name: name, centralURL: url.absoluteString, centralKeyFingerprint: fingerprint)
    }
}
