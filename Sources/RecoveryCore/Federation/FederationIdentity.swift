import Foundation
import GRDB

/// This box's own federation signing key, stored sealed in
/// `federation_identity` (one row): a clinic's signs its payloads, central's
/// signs its receipts. A clinic's row also names the central it enrolled with.
public struct FederationIdentity: Sendable {
    public let id: String
    public let key: SigningKey
    /// On a clinic: the id central knows it by, and the pinned central's peer row.
    public let clinicID: String?
    public let centralPeerID: String?

    /// The stored identity, or nil before there is one.
    static func load(_ appliance: Appliance, in db: Database) throws -> FederationIdentity? {
        guard let row = try Row.fetchOne(db, sql: "SELECT id, secret_key_sealed, clinic_id, central_peer_id FROM federation_identity") else { return nil }
        let id: String = row["id"]
        return FederationIdentity(id: id, key: try appliance.signingKeySeal.open(row["secret_key_sealed"], rowID: id),
                                  clinicID: row["clinic_id"], centralPeerID: row["central_peer_id"])
    }

    /// Central's identity: the stored one, or a new key made now.
    static func centralIdentity(_ appliance: Appliance, in db: Database) throws -> FederationIdentity {
        if let identity = try load(appliance, in: db) { return identity }
        let id = RowID.make(), key = SigningKey.generate()
        try db.execute(sql: "INSERT INTO federation_identity (id, public_key, secret_key_sealed) VALUES (?, ?, ?)",
                       arguments: [id, key.publicKey, appliance.signingKeySeal.seal(key, rowID: id)])
        return FederationIdentity(id: id, key: key, clinicID: nil, centralPeerID: nil)
    }
}

/// The text central signs to acknowledge a payload; the clinic checks it
/// against central's pinned key before it lets the payload leave its outbox.
public enum FederationReceipt {
    public static func message(clinicID: String, sequence: Int, digest: Data) -> [UInt8] {
        Array("recovery-federation-receipt/v1:\(clinicID):\(sequence):\(digest.base64EncodedString())".utf8)
    }

    /// BLAKE2b-256 of a payload's bytes.
    public static func digest(_ payload: String) -> Data { Sodium.fingerprint(payload) }
}
