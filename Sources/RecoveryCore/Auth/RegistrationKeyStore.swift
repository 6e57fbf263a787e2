import Foundation
import GRDB

/// Issues, revokes and consumes registration keys. A key is stored only as a
/// keyed hash of its canonical form; the plain key is returned once, to the
/// staff member who created it.
public struct RegistrationKeyStore: Sendable {
    let blindIndex: BlindIndex
    let lifetimeHours: Int

    public init(blindIndex: BlindIndex, lifetimeHours: Int) {
        self.blindIndex = blindIndex
        self.lifetimeHours = lifetimeHours
    }

    public struct Issued: Sendable, Equatable {
        public var key: String
        public var expiresAt: String
    }

    /// A new key for the patient; any earlier unused key stops working.
    public func issue(patientID: String, facilityID: String, createdBy staffID: String, in db: Database) throws -> Issued {
        let now = Date()
        let nowText = Timestamp.string(now)
        try db.execute(sql: """
            UPDATE registration_keys SET superseded_at = ?
            WHERE patient_id = ? AND used_at IS NULL AND revoked_at IS NULL AND superseded_at IS NULL
            """, arguments: [nowText, patientID])
        let key = RegistrationKey.generate()
        let expiresAt = Timestamp.string(now.addingTimeInterval(TimeInterval(lifetimeHours * 3_600)))
        try db.execute(sql: """
            INSERT INTO registration_keys (id, facility_id, patient_id, key_bidx, created_by, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [RowID.make(), facilityID, patientID,
                             blindIndex.secretIndex(RegistrationKey.canonical(key)!, for: .registrationKeysKey),
                             staffID, nowText, expiresAt])
        return Issued(key: key, expiresAt: expiresAt)
    }

    /// Revokes the patient's unused key; false when there was none.
    public func revoke(patientID: String, by staffID: String, in db: Database) throws -> Bool {
        try db.execute(sql: """
            UPDATE registration_keys SET revoked_at = ?, revoked_by = ?
            WHERE patient_id = ? AND used_at IS NULL AND revoked_at IS NULL AND superseded_at IS NULL
            """, arguments: [Timestamp.now(), staffID, patientID])
        return db.changesCount > 0
    }

    /// Marks a live key used and returns its patient; nil for a wrong,
    /// expired, revoked, superseded or used key alike. Atomic: the single
    /// UPDATE matches at most once, so of two concurrent registrations with
    /// one key exactly one gets the patient.
    public func consume(_ input: String, in db: Database) throws -> (patientID: String, facilityID: String)? {
        guard let canonical = RegistrationKey.canonical(input) else { return nil }
        let now = Timestamp.now()
        let lookup = blindIndex.secretLookup(canonical, for: .registrationKeysKey)
        guard let row = try Row.fetchOne(db, sql: """
            UPDATE registration_keys SET used_at = ?
            WHERE \(lookup.sql("key_bidx")) AND used_at IS NULL AND revoked_at IS NULL AND superseded_at IS NULL AND expires_at > ?
            RETURNING patient_id, facility_id
            """, arguments: [now] + lookup.arguments + [now])
        else { return nil }
        return (row["patient_id"], row["facility_id"])
    }
}
