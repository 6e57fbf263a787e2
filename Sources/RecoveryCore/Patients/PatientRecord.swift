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

    /// The columns `init(_:cipher:)` reads, by position. Select
    /// `PatientRecord.selection` first; a query may add columns after these.
    public static let selection = """
        p.id, p.facility_id, p.patient_number, p.first_name_enc, p.last_name_enc, p.date_of_birth_enc, p.email_enc, p.phone_enc, \
        p.program, p.level_of_care, p.status, p.admission_date, p.sobriety_date, p.password_hash IS NOT NULL, p.created_at, \
        p.list_card_enc
        """
    static let selectionCount: Int32 = 16

    init(_ row: SQLiteColumns, cipher: FieldCipher) throws {
        let id = row.text(0)
        self.id = id
        facilityID = row.text(1)
        patientNumber = row.text(2)
        // One ciphertext for the five fields when the patient has a list card,
        // else (or if the card, which is derived, does not open) field by field.
        let card = try row.blob(15).flatMap { try? PatientCard(sealed: $0, cipher: cipher, rowID: id) }
            ?? PatientCard(fieldsOf: row, from: 3, cipher: cipher, rowID: id)
        (firstName, lastName, dateOfBirth, email, phone) = (card.firstName, card.lastName, card.dateOfBirth, card.email, card.phone)
        program = row.optionalText(8)
        levelOfCare = row.optionalText(9)
        status = row.text(10)
        admissionDate = row.optionalText(11)
        sobrietyDate = row.optionalText(12)
        registered = row.bool(13)
        createdAt = row.text(14)
    }
}

extension PatientStore {
    /// The live patient with `id` inside `facilityID`; nil for another
    /// facility's patient, exactly as for one that does not exist.
    public func record(id: String, facilityID: String, in db: Database) throws -> PatientRecord? {
        var record: PatientRecord?
        try db.cachedStatement(sql: "SELECT \(PatientRecord.selection) FROM patients p WHERE p.id = ? AND p.facility_id = ? AND p.deleted_at IS NULL")
            .forEachRow(arguments: [id, facilityID]) { record = try PatientRecord($0, cipher: cipher) }
        return record
    }
}
