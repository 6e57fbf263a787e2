import Foundation
import GRDB

/// Writes patient rows with their PHI encrypted and name/email indexed.
public struct PatientStore: Sendable {
    let cipher: FieldCipher
    let blindIndex: BlindIndex

    public init(cipher: FieldCipher, blindIndex: BlindIndex) {
        self.cipher = cipher
        self.blindIndex = blindIndex
    }

    public struct NewPatient: Sendable {
        public var facilityID: String
        public var firstName: String
        public var lastName: String
        public var dateOfBirth: String
        public var email: String?
        public var phone: String?
        public var program: String?
        public var levelOfCare: String
        public var status: String
        public var admissionDate: String?
        public var sobrietyDate: String?

        public init(facilityID: String, firstName: String, lastName: String, dateOfBirth: String, email: String? = nil,
                    phone: String? = nil, program: String? = nil, levelOfCare: String, status: String,
                    admissionDate: String? = nil, sobrietyDate: String? = nil) {
            self.facilityID = facilityID
            self.firstName = firstName
            self.lastName = lastName
            self.dateOfBirth = dateOfBirth
            self.email = email
            self.phone = phone
            self.program = program
            self.levelOfCare = levelOfCare
            self.status = status
            self.admissionDate = admissionDate
            self.sobrietyDate = sobrietyDate
        }
    }

    /// Inserts the patient with a new random patient number (`PatientNumber`)
    /// and returns (id, patient number).
    @discardableResult
    public func insert(_ patient: NewPatient, in db: Database) throws -> (id: String, patientNumber: String) {
        // A random (version 4) id, unlike other rows: a patient's id travels in
        // URLs, answers and the app, and a version 7 id would tell when they
        // were admitted to anyone who sees it.
        let id = UUID().uuidString.lowercased()
        let number = try PatientNumber.unused(in: db)
        try db.execute(sql: """
            INSERT INTO patients (id, facility_id, patient_number, first_name_enc, first_name_bidx, last_name_enc, last_name_bidx,
                                  date_of_birth_enc, email_enc, email_bidx, phone_enc, program, level_of_care, status,
                                  admission_date, sobriety_date, list_card_enc)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                id, patient.facilityID, number,
                cipher.seal(patient.firstName, field: .patientsFirstName, rowID: id),
                blindIndex.index(patient.firstName, for: .patientsFirstName),
                cipher.seal(patient.lastName, field: .patientsLastName, rowID: id),
                blindIndex.index(patient.lastName, for: .patientsLastName),
                cipher.seal(patient.dateOfBirth, field: .patientsDateOfBirth, rowID: id),
                cipher.seal(optional: patient.email, field: .patientsEmail, rowID: id),
                patient.email.map { blindIndex.index($0, for: .patientsEmail) },
                cipher.seal(optional: patient.phone, field: .patientsPhone, rowID: id),
                patient.program, patient.levelOfCare, patient.status, patient.admissionDate, patient.sobrietyDate,
                PatientCard(firstName: patient.firstName, lastName: patient.lastName, dateOfBirth: patient.dateOfBirth,
                            email: patient.email, phone: patient.phone).sealed(cipher, rowID: id),
            ])
        return (id, number)
    }
}
