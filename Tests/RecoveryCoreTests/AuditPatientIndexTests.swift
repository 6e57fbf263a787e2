import Foundation
import CSodium
import GRDB
import Testing
@testable import RecoveryCore

@Suite struct AuditPatientIndexTests {
    let log = AuditLog(masterKey: fixedKey, cipher: FieldCipher(masterKey: fixedKey))

    func listRead(_ patients: [String]) -> AuditEvent {
        AuditEvent(action: "patient.list", outcome: .success, actorKind: .staff, actorID: "staff-1", patientIDs: patients)
    }

    /// The seqs of the entries that involve `patient`, oldest first.
    func entries(involving patient: String, in database: AppDatabase) throws -> [Int64] {
        let involves = AuditPatientIndex.involves(patientID: patient)
        return try database.pool.read { db in
            try Int64.fetchAll(db, sql: "SELECT a.seq FROM audit_logs a WHERE \(involves.sql) ORDER BY a.seq", arguments: involves.arguments)
        }
    }

    func count(_ table: String, in database: AppDatabase) throws -> Int {
        try database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
    }

    @Test func aListOfPatientsIsStoredOnceAndEveryEntryNamingItIsFound() throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase(path: dir.file("test.sqlite"))
        try database.migrate()
        let page = (1...50).map { "patient-\($0)" }
        let shifted = (2...51).map { "patient-\($0)" }
        let single = AuditEvent(action: "patient.read", outcome: .success, actorKind: .staff, actorID: "staff-2", patientID: "patient-1")
        // seq 1-3 the same page, 4 a single read, 5 another page, 6 the first page again, 7 an empty page.
        for event in [listRead(page), listRead(page), listRead(page), single, listRead(shifted), listRead(page), listRead([])] {
            try database.pool.write { db in try log.append(event, in: db) }
        }

        #expect(try entries(involving: "patient-1", in: database) == [1, 2, 3, 4, 6])
        #expect(try entries(involving: "patient-2", in: database) == [1, 2, 3, 5, 6])
        #expect(try entries(involving: "patient-51", in: database) == [5])
        #expect(try entries(involving: "patient-52", in: database) == [])
        // Two distinct lists, each stored and indexed once; the entries name them by digest.
        #expect(try count("audit_patient_sets", in: database) == 2)
        #expect(try count("audit_patient_set_members", in: database) == 100)
        #expect(try count("audit_log_patients", in: database) == 1)
        let stored = try database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT patient_ids, patient_set IS NOT NULL AS named FROM audit_logs WHERE action = 'patient.list' ORDER BY seq")
        }
        #expect(stored.map { $0["named"] as Bool } == [true, true, true, true, true, false])
        #expect(stored.map { $0["patient_ids"] as String? } == [nil, nil, nil, nil, nil, "[]"])
        // The lists are append-only like the entries, and part of the chain.
        #expect(throws: (any Error).self) { try database.pool.write { db in try db.execute(sql: "DELETE FROM audit_patient_set_members") } }
        #expect(throws: (any Error).self) { try database.pool.write { db in try db.execute(sql: "UPDATE audit_patient_sets SET patient_ids = '[]'") } }
        #expect(try database.pool.read { db in try log.verify(in: db) } == .intact(entries: 7))
        // Removing a patient from a list's index would hide a reader: verify finds it.
        try database.pool.write { db in
            try db.execute(sql: "DROP TRIGGER audit_patient_set_members_no_delete")
            try db.execute(sql: "DELETE FROM audit_patient_set_members WHERE patient_id = 'patient-51'")
        }
        #expect(try entries(involving: "patient-51", in: database) == [])
        #expect(try database.pool.read { db in try log.verify(in: db) } == .broken(seq: 5, reason: "the index of the patients it names was altered"))
        try database.pool.write { db in
            try db.execute(sql: "DROP TRIGGER audit_patient_sets_no_update")
            try db.execute(sql: "UPDATE audit_patient_sets SET patient_ids = json_remove(patient_ids, '$[0]') WHERE json_array_length(patient_ids) = 50 AND patient_ids LIKE '%\"patient-1\"%'")
        }
        #expect(try database.pool.read { db in try log.verify(in: db) } == .broken(seq: 1, reason: "the list of patients it names was altered or removed"))
    }

    /// Before 0004 a background indexer filled audit_log_patients from
    /// patient_ids, recording how far it had got; 0004 indexes the rest.
    @Test func theMigrationIndexesListReadsTheRetiredIndexerHadNotReached() throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase(path: dir.file("test.sqlite"))
        try database.migrator.migrate(database.pool, upTo: "0003_facility_patient_counts")
        try database.pool.write { db in
            for patients in [["p-1", "p-2"], ["p-2", "p-3"], ["p-3"]] {
                let previous = try Data.fetchOne(db, sql: "SELECT entry_hash FROM audit_logs ORDER BY seq DESC LIMIT 1") ?? Data(count: 32)
                let json = "[" + patients.map { "\"\($0)\"" }.joined(separator: ",") + "]"
                try db.execute(sql: """
                    INSERT INTO audit_logs (id, actor_kind, actor_id, action, patient_ids, outcome, prev_hash, entry_hash)
                    VALUES (?, 'staff', 's', 'patient.list', ?, 'success', ?, randomblob(32))
                    """, arguments: [RowID.make(), json, previous])
            }
            // The old indexer had reached the first entry only.
            try db.execute(sql: "INSERT INTO audit_log_patients (patient_id, audit_seq) VALUES ('p-1', 1), ('p-2', 1)")
            try BoxSetting.set("audit_patient_index_seq", to: "1", in: db)
        }
        // audit verify runs on a database not yet migrated (these entries' hashes are random).
        #expect(try database.pool.read { db in try log.verify(in: db) }
                == .broken(seq: 1, reason: "its content does not match its hash (the entry was altered)"))
        #expect(try database.migrate().first == "0004_audit_patient_sets")
        #expect(try entries(involving: "p-2", in: database) == [1, 2])
        #expect(try entries(involving: "p-3", in: database) == [2, 3])
        #expect(try count("audit_log_patients", in: database) == 5)
        #expect(try database.pool.read { db in try BoxSetting.get("audit_patient_index_seq", in: db) } == nil)
    }
}

@Suite struct AuditChainHashTests {
    /// The chain hash is keyed BLAKE2b-256 over the previous hash and every
    /// stored column as 0 (absent) or 1, length (UInt32 big-endian), bytes.
    /// Stored chains depend on this exact message, so it is rebuilt here
    /// independently, in one piece, and compared.
    @Test(arguments: [false, true])
    func theChainHashCoversThePreviousHashAndEveryColumnInItsStoredForm(withSet: Bool) {
        let log = AuditLog(masterKey: fixedKey, cipher: FieldCipher(masterKey: fixedKey))
        var entry = StoredEntry(
            id: "0193f0e2-5b7a-7c1d-9e2f-0a1b2c3d4e5f", occurredAt: "2026-11-25T10:00:00.000Z", facilityID: "f-1",
            actorKind: "staff", actorID: "s-1", action: "patient.list", resourceType: "patient", resourceID: nil, patientID: nil,
            patientIDs: "[\"p-1\",\"p-2\"]", outcome: "success", ipAddressEnc: Data([1, 2, 3]), requestID: nil, details: "{\"count\":\"2\"}")
        // An entry without a patient set (all entries before 0004) hashes exactly as before.
        if withSet { entry.patientSet = Data(repeating: 7, count: 32) }
        let previous = Data((0..<32).map { UInt8($0) })
        var message = [UInt8](previous)
        let fields: [[UInt8]?] = [entry.id, entry.occurredAt, entry.facilityID, entry.actorKind, entry.actorID, entry.action,
                                  entry.resourceType, entry.resourceID, entry.patientID, entry.patientIDs, entry.outcome]
            .map { $0.map { Array($0.utf8) } } + [[1, 2, 3], nil, Array(entry.details.utf8)] + (withSet ? [Array(repeating: 7, count: 32)] : [])
        for field in fields {
            guard let field else { message.append(0); continue }
            message.append(1)
            withUnsafeBytes(of: UInt32(field.count).bigEndian) { message.append(contentsOf: $0) }
            message.append(contentsOf: field)
        }
        let key = fixedKey.derive(.auditChain, id: 1)
        var expected = [UInt8](repeating: 0, count: 32)
        crypto_generichash(&expected, 32, message, UInt64(message.count), key, key.count)
        #expect(log.hash(entry, previous: previous) == Data(expected))
        var altered = entry
        altered.details = "{\"count\":\"3\"}"
        #expect(log.hash(altered, previous: previous) != Data(expected))
    }
}
