import Foundation
import GRDB

/// A patient as authentication sees them, decrypted.
public struct PatientAccount: Sendable, Equatable {
    public var id: String
    public var facilityID: String
    public var patientNumber: String
    public var firstName: String
    public var lastName: String
    public var email: String?
    public var status: String
    public var passwordHash: String?
    public var isDeleted: Bool

    init(row: Row, cipher: FieldCipher) throws {
        id = row["id"]
        facilityID = row["facility_id"]
        patientNumber = row["patient_number"]
        firstName = try cipher.openString(row["first_name_enc"], field: .patientsFirstName, rowID: id)
        lastName = try cipher.openString(row["last_name_enc"], field: .patientsLastName, rowID: id)
        email = try cipher.openString(optional: row["email_enc"], field: .patientsEmail, rowID: id)
        status = row["status"]
        passwordHash = row["password_hash"]
        isDeleted = (row["deleted_at"] as String?) != nil
    }

    /// Registered, not deleted, not made inactive: may sign in.
    public var canSignIn: Bool { passwordHash != nil && !isDeleted && status != "inactive" }
}

extension PatientStore {
    /// The patient signing in with an email or a patient number.
    /// The live accounts a patient may sign in to with `identifier`: by
    /// patient number one at most (unique on the box); by email one per
    /// facility that has a patient with it (unique within a facility only).
    public func accounts(identifier: String, in db: Database) throws -> [PatientAccount] {
        if identifier.contains("@") {
            let lookup = blindIndex.lookup(identifier, for: .patientsEmail)
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM patients WHERE \(lookup.sql("email_bidx")) AND deleted_at IS NULL ORDER BY id",
                                        arguments: lookup.arguments)
            return try rows.map { try PatientAccount(row: $0, cipher: cipher) }
                .filter { $0.email.map(BlindIndex.normalise) == BlindIndex.normalise(identifier) }
        }
        let number = identifier.trimmingCharacters(in: .whitespaces).uppercased()
        return try Row.fetchAll(db, sql: "SELECT * FROM patients WHERE patient_number = ? AND deleted_at IS NULL", arguments: [number])
            .map { try PatientAccount(row: $0, cipher: cipher) }
    }

    public func account(id: String, in db: Database) throws -> PatientAccount? {
        try Row.fetchOne(db, sql: "SELECT * FROM patients WHERE id = ?", arguments: [id]).map { try PatientAccount(row: $0, cipher: cipher) }
    }

    /// Whether another live patient of the facility uses `email`. Other
    /// facilities are never consulted: the answer must not reveal that a
    /// person is treated elsewhere (42 CFR Part 2).
    public func emailInUse(_ email: String, facilityID: String, exceptPatient patientID: String, in db: Database) throws -> Bool {
        let lookup = blindIndex.lookup(email, for: .patientsEmail)
        let rows = try Row.fetchAll(db, sql: "SELECT * FROM patients WHERE facility_id = ? AND \(lookup.sql("email_bidx")) AND deleted_at IS NULL AND id <> ?",
                                    arguments: [facilityID] + lookup.arguments + [patientID])
        return try rows.contains { try PatientAccount(row: $0, cipher: cipher).email.map(BlindIndex.normalise) == BlindIndex.normalise(email) }
    }
}
