import Foundation
import GRDB

/// Which audit entries involve a patient, kept in each entry's own
/// transaction (see 0004_audit_patient_sets.sql):
/// - an entry's single `patient_id` is indexed by a trigger;
/// - the first entry naming a given list of patients (`patient_ids`, a
///   list read) has each of them in `audit_log_patients`;
/// - a later entry naming exactly the same list is linked to that first
///   entry in `audit_log_same_patients`, one row instead of one per patient.
/// Staff open the same page of a list again and again, so most list reads
/// cost one row here; indexing fifty patients per read was the largest
/// single cost of a patient list.
enum AuditPatientIndex {
    /// Indexes the entry `seq` that names `patientIDs` (their stored JSON text).
    static func index(seq: Int64, patientIDs: [String], text: String, in db: Database) throws {
        guard !patientIDs.isEmpty else { return }
        let digest = Sodium.fingerprint(text)
        if let first = try Int64.fetchOne(db.cachedStatement(sql: "SELECT first_seq FROM audit_patient_sets WHERE digest = ?"),
                                          arguments: [digest]) {
            try db.cachedStatement(sql: "INSERT INTO audit_log_same_patients (audit_seq, first_seq) VALUES (?, ?)")
                .execute(arguments: [seq, first])
            return
        }
        try db.cachedStatement(sql: "INSERT INTO audit_patient_sets (digest, first_seq) VALUES (?, ?)").execute(arguments: [digest, seq])
        let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO audit_log_patients (patient_id, audit_seq) VALUES (?, ?)")
        for id in patientIDs { try insert.execute(arguments: [id, seq]) }
    }

    /// A condition on `audit_logs a`: the entry involves the patient bound
    /// twice, as the two arguments returned.
    static func involves(patientID: String) -> (sql: String, arguments: StatementArguments) {
        ("""
         a.seq IN (SELECT audit_seq FROM audit_log_patients WHERE patient_id = ?
                   UNION ALL
                   SELECT s.audit_seq FROM audit_log_patients p JOIN audit_log_same_patients s ON s.first_seq = p.audit_seq
                   WHERE p.patient_id = ?)
         """, [patientID, patientID])
    }
}
