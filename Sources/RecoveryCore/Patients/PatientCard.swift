import Foundation
import GRDB

/// The demographics a patient list shows, sealed together in one
/// ciphertext (`patients.list_card_enc`, see 0005_patient_list_cards.sql)
/// so that a page of patients opens one ciphertext per patient rather than
/// five. The per-field columns remain the record; the card is derived from
/// them, rewritten after every change, and cleared by the database when a
/// change forgets it, in which case the patient is read field by field.
///
/// Stored form, before sealing: for each field in order (first name, last
/// name, date of birth, email, phone), 0 for absent, or 1, its length as a
/// UInt16 big-endian and its UTF-8 bytes.
struct PatientCard: Equatable {
    var firstName: String
    var lastName: String
    var dateOfBirth: String
    var email: String?
    var phone: String?

    func sealed(_ cipher: FieldCipher, rowID: String) -> Data {
        var plain = [UInt8]()
        for field in [firstName, lastName, dateOfBirth, email, phone] {
            guard let field else { plain.append(0); continue }
            let bytes = Array(field.utf8.prefix(Int(UInt16.max)))
            plain.append(1)
            plain.append(UInt8(bytes.count >> 8))
            plain.append(UInt8(bytes.count & 0xFF))
            plain.append(contentsOf: bytes)
        }
        return cipher.seal(Data(plain), field: .patientsListCard, rowID: rowID)
    }

    /// Opens a card lent by the database.
    init(sealed: UnsafeRawBufferPointer, cipher: FieldCipher, rowID: String) throws {
        var fields: [String?] = []
        try cipher.open(bytes: sealed, field: .patientsListCard, rowID: rowID) { plain in
            var offset = 0
            while offset < plain.count, fields.count < 5 {
                guard plain[offset] == 1 else { fields.append(nil); offset += 1; continue }
                guard offset + 3 <= plain.count else { break }
                let length = Int(plain[offset + 1]) << 8 | Int(plain[offset + 2])
                guard offset + 3 + length <= plain.count else { break }
                fields.append(String(decoding: UnsafeBufferPointer(rebasing: plain[(offset + 3)..<(offset + 3 + length)]), as: UTF8.self))
                offset += 3 + length
            }
        }
        guard fields.count == 5 else { throw CryptoError.decryptionFailed }
        self.init(firstName: fields[0] ?? "", lastName: fields[1] ?? "", dateOfBirth: fields[2] ?? "", email: fields[3], phone: fields[4])
    }

    /// Opens the five per-field columns, which `row` has in card order from
    /// column `first` (`first_name_enc`, `last_name_enc`, `date_of_birth_enc`,
    /// `email_enc`, `phone_enc`).
    init(fieldsOf row: SQLiteColumns, from first: Int32, cipher: FieldCipher, rowID: String) throws {
        func open(_ offset: Int32, _ field: PHIField) throws -> String? {
            try row.blob(first + offset).map { try cipher.openString(bytes: $0, field: field, rowID: rowID) }
        }
        self.init(firstName: try open(0, .patientsFirstName) ?? "", lastName: try open(1, .patientsLastName) ?? "",
                  dateOfBirth: try open(2, .patientsDateOfBirth) ?? "", email: try open(3, .patientsEmail), phone: try open(4, .patientsPhone))
    }

    init(firstName: String, lastName: String, dateOfBirth: String, email: String?, phone: String?) {
        self.firstName = firstName
        self.lastName = lastName
        self.dateOfBirth = dateOfBirth
        self.email = email
        self.phone = phone
    }

    /// Rewrites the card of `patientID` from its per-field columns; call
    /// after changing any of them, in the same transaction.
    static func refresh(_ patientID: String, cipher: FieldCipher, in db: Database) throws {
        var card: PatientCard?
        try db.cachedStatement(sql: """
            SELECT first_name_enc, last_name_enc, date_of_birth_enc, email_enc, phone_enc FROM patients WHERE id = ?
            """).forEachRow(arguments: [patientID]) { card = try PatientCard(fieldsOf: $0, from: 0, cipher: cipher, rowID: patientID) }
        guard let card else { return }
        try db.cachedStatement(sql: "UPDATE patients SET list_card_enc = ? WHERE id = ?")
            .execute(arguments: [card.sealed(cipher, rowID: patientID), patientID])
    }

    /// Writes the card of every patient that has none (patients from before
    /// 0005), a batch per transaction; returns how many it wrote. A patient
    /// whose fields do not open is left without a card (read field by field,
    /// which reports the problem) and does not hold up the others.
    @discardableResult
    static func fillMissing(_ database: AppDatabase, cipher: FieldCipher, batch: Int = 200) async throws -> Int {
        var total = 0, after = ""
        while true {
            let start = after
            let (seen, written, last) = try await database.pool.write { db -> (Int, Int, String) in
                let ids = try String.fetchAll(db, sql: "SELECT id FROM patients WHERE list_card_enc IS NULL AND id > ? ORDER BY id LIMIT ?",
                                              arguments: [start, batch])
                var written = 0
                for id in ids {
                    do {
                        try refresh(id, cipher: cipher, in: db)
                        written += 1
                    } catch is CryptoError {
                        continue
                    }
                }
                return (ids.count, written, ids.last ?? "")
            }
            total += written
            after = last
            if seen < batch { return total }
        }
    }
}

extension Appliance {
    /// Writes the list card of every patient that has none; see `PatientCard`.
    public func fillMissingPatientCards() async throws {
        try await PatientCard.fillMissing(database, cipher: cipher)
    }
}
