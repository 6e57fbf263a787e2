import Foundation
import GRDB

/// A patient's demographic record, decrypted, as staff see it.
public struct PatientRecord: Sendable, Equatable {
    public var id: String
    public var facilityID: String
    public var patientNumber: String
    public var firstName: String
    public var lastName: String
    public var dateOfBirth: String
    public var email: String?
    public var phone: String?
    public var program: String?
    public var levelOfCare: String?
    public var status: String
    public var admissionDate: String?
    public var sobrietyDate: String?
    public var registered: Bool
    public var createdAt: String

    init(row: Row, cipher: FieldCipher) throws {
        id = row["id"]
        facilityID = row["facility_id"]
        patientNumber = row["patient_number"]
        firstName = try cipher.openString(row["first_name_enc"], field: .patientsFirstName, rowID: id)
        lastName = try cipher.openString(row["last_name_enc"], field: .patientsLastName, rowID: id)
        dateOfBirth = try cipher.openString(row["date_of_birth_enc"], field: .patientsDateOfBirth, rowID: id)
        email = try cipher.openString(optional: row["email_enc"], field: .patientsEmail, rowID: id)
        phone = try cipher.openString(optional: row["phone_enc"], field: .patientsPhone, rowID: id)
        program = row["program"]
        levelOfCare = row["level_of_care"]
        status = row["status"]
        admissionDate = row["admission_date"]
        sobrietyDate = row["sobriety_date"]
        registered = (row["password_hash"] as String?) != nil
        createdAt = row["created_at"]
    }
}

extension PatientStore {
    /// The live patient with `id` inside `facilityID`; nil for another
    /// facility's patient, exactly as for one that does not exist.
    public func record(id: String, facilityID: String, in db: Database) throws -> PatientRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM patients WHERE id = ? AND facility_id = ? AND deleted_at IS NULL",
                         arguments: [id, facilityID]).map { try PatientRecord(row: $0, cipher: cipher) }
    }
}
