import Foundation
import GRDB
import Testing
@testable import RecoveryCore

/// The list card (0005): one ciphertext holding what a patient list shows,
/// kept equal to the per-field columns through every kind of change.
@Suite struct PatientCardTests {
    /// The card as stored (nil when there is none) and the record's fields
    /// decrypted one by one from their own columns.
    func cardAndFields(_ patientID: String, _ appliance: Appliance) async throws -> (card: PatientCard?, fields: PatientCard) {
        let cipher = appliance.cipher
        return try await appliance.database.pool.read { db in
            var result: (PatientCard?, PatientCard)?
            try db.makeStatement(sql: """
                SELECT list_card_enc, first_name_enc, last_name_enc, date_of_birth_enc, email_enc, phone_enc FROM patients WHERE id = ?
                """).forEachRow(arguments: [patientID]) { row in
                let card = try row.blob(0).map { try PatientCard(sealed: $0, cipher: cipher, rowID: patientID) }
                result = (card, try PatientCard(fieldsOf: row, from: 1, cipher: cipher, rowID: patientID))
            }
            return try #require(result)
        }
    }

    func listed(_ f: RecoveryRecordsTests.Fixture) async throws -> PatientRecord {
        let page = try await PatientDirectory(appliance: f.appliance).list(f.counselor, .init(), origin: .init())
        return try #require(page.items.first { $0.id == f.patient.id })
    }

    @Test func theCardFollowsEveryChangeAndAPatientWithoutOneIsReadFieldByField() async throws {
        let f = try await RecoveryRecordsTests().fixture()
        defer { withExtendedLifetime(f.dir) {} }
        // A patient's id is random (version 4): it travels in URLs and must not date the admission.
        #expect(try #require(UUID(uuidString: f.patient.id)).uuid.6 >> 4 == 4)
        // Written with the patient.
        var state = try await cardAndFields(f.patient.id, f.appliance)
        #expect(state.card == state.fields && state.fields.firstName == "Rowan" && state.fields.email == nil)

        // A staff edit of names and contact details, and one that touches none of them.
        var changes = PatientDirectory.Changes()
        changes.firstName = "Róisín"; changes.email = "roisin@example.org"; changes.phone = "+1 555 0100"
        _ = try await PatientDirectory(appliance: f.appliance).update(f.counselor, patientID: f.patient.id, changes: changes, origin: .init())
        state = try await cardAndFields(f.patient.id, f.appliance)
        #expect(state.card == state.fields && state.fields.firstName == "Róisín" && state.fields.phone == "+1 555 0100")
        var statusOnly = PatientDirectory.Changes()
        statusOnly.program = "evening"
        _ = try await PatientDirectory(appliance: f.appliance).update(f.counselor, patientID: f.patient.id, changes: statusOnly, origin: .init())
        #expect(try await cardAndFields(f.patient.id, f.appliance).card == state.fields)
        #expect(try await listed(f).firstName == "Róisín")

        // The list reads the card, not the fields: a card written alone shows.
        var onlyInCard = state.fields
        onlyInCard.firstName = "Only-In-The-Card"
        try await f.appliance.database.pool.write { [onlyInCard] db in
            let card = onlyInCard
            try db.execute(sql: "UPDATE patients SET list_card_enc = ? WHERE id = ?",
                           arguments: [card.sealed(f.appliance.cipher, rowID: f.patient.id), f.patient.id])
        }
        #expect(try await listed(f).firstName == "Only-In-The-Card")
        try await f.appliance.database.pool.write { db in try PatientCard.refresh(f.patient.id, cipher: f.appliance.cipher, in: db) }
        #expect(try await listed(f).firstName == "Róisín")

        // A change that forgets the card clears it; the list then reads the fields.
        try await f.appliance.database.pool.write { db in
            try db.execute(sql: "UPDATE patients SET last_name_enc = ? WHERE id = ?",
                           arguments: [f.appliance.cipher.seal("Ellery-Byrne", field: .patientsLastName, rowID: f.patient.id), f.patient.id])
        }
        #expect(try await cardAndFields(f.patient.id, f.appliance).card == nil)
        let fallback = try await listed(f)
        #expect(fallback.lastName == "Ellery-Byrne" && fallback.email == "roisin@example.org")

        // The upkeep writes the missing card.
        #expect(try await PatientCard.fillMissing(f.appliance.database, cipher: f.appliance.cipher) == 1)
        state = try await cardAndFields(f.patient.id, f.appliance)
        #expect(state.card == state.fields && state.fields.lastName == "Ellery-Byrne")
        #expect(try await listed(f).lastName == "Ellery-Byrne")
        #expect(try await PatientCard.fillMissing(f.appliance.database, cipher: f.appliance.cipher) == 0)

        // Registration with an email rewrites the card.
        let key = try await f.appliance.database.pool.write { db in
            try f.appliance.registrationKeys.issue(patientID: f.patient.id, facilityID: f.patient.facilityID, createdBy: f.counselor.subjectID, in: db).key
        }
        _ = try await AuthService(appliance: f.appliance).registerPatient(key: key, password: "a long patient passphrase", email: "rowan@example.net", origin: .init())
        state = try await cardAndFields(f.patient.id, f.appliance)
        #expect(state.card == state.fields && state.fields.email == "rowan@example.net")

        // The upkeep goes past a batch boundary.
        try await f.appliance.database.pool.write { db in
            for index in 0..<5 {
                try f.appliance.patientStore.insert(.init(facilityID: f.patient.facilityID, firstName: "Batch\(index)", lastName: "Person",
                                                          dateOfBirth: "1990-01-01", levelOfCare: "iop", status: "active"), in: db)
            }
            try db.execute(sql: "UPDATE patients SET list_card_enc = NULL")
        }
        #expect(try await PatientCard.fillMissing(f.appliance.database, cipher: f.appliance.cipher, batch: 2) == 6)
        #expect(try await f.appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM patients WHERE list_card_enc IS NULL") } == 0)

        // A card copied to another patient does not open there.
        let otherID = try await f.appliance.database.pool.write { db in
            try f.appliance.patientStore.insert(.init(facilityID: f.patient.facilityID, firstName: "Other", lastName: "Person",
                                                      dateOfBirth: "1990-01-01", levelOfCare: "iop", status: "active"), in: db).id
        }
        try await f.appliance.database.pool.write { db in
            try db.execute(sql: "UPDATE patients SET list_card_enc = (SELECT list_card_enc FROM patients WHERE id = ?) WHERE id = ?",
                           arguments: [f.patient.id, otherID])
        }
        await #expect(throws: CryptoError.self) { _ = try await cardAndFields(otherID, f.appliance) }
    }
}
