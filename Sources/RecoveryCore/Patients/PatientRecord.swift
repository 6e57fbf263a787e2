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

    /// The columns `init(row:)` reads, by position (reading by name costs
    /// more than decrypting). Select `PatientRecord.selection` first; a query
    /// may add columns after these.
    public static let selection = """
        p.id, p.facility_id, p.patient_number, p.first_name_enc, p.last_name_enc, p.date_of_birth_enc, p.email_enc, p.phone_enc, \
        p.program, p.level_of_care, p.status, p.admission_date, p.sobriety_date, p.password_hash IS NOT NULL, p.created_at
        """
    static let selectionCount = 15

    init(row: Row, cipher: FieldCipher) throws {
        id = row[0]
        facilityID = row[1]
        patientNumber = row[2]
        firstName = try cipher.openString(row[3], field: .patientsFirstName, rowID: id)
        lastName = try cipher.openString(row[4], field: .patientsLastName, rowID: id)
        dateOfBirth = try cipher.openString(row[5], field: .patientsDateOfBirth, rowID: id)
        email = try cipher.openString(optional: row[6], field: .patientsEmail, rowID: id)
        phone = try cipher.openString(optional: row[7], field: .patientsPhone, rowID: id)
        program = row[8]
        levelOfCare = row[9]
        status = row[10]
        admissionDate = row[11]
        sobrietyDate = row[12]
        registered = row[13]
        createdAt = row[14]
    }
}

extension PatientStore {
    /// The live patient with `id` inside `facilityID`; nil for another
    /// facility's patient, exactly as for one that does not exist.
    public func record(id: String, facilityID: String, in db: Database) throws -> PatientRecord? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(PatientRecord.selection) FROM patients p WHERE p.id = ? AND p.facility_id = ? AND p.deleted_at IS NULL"),
                         arguments: [id, facilityID]).map { try PatientRecord(row: $0, cipher: cipher) }
    }
}
