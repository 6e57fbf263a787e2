import Foundation
import GRDB

/// The lists of patients that list reads name, each stored once under its
/// digest (see 0004_audit_patient_sets.sql), and the question the audit
/// trail answers from them and from `audit_log_patients`: which entries
/// involve a patient. Staff open the same page of a list again and again,
/// so most list reads store nothing here; storing and indexing fifty
/// patients per read was the largest cost of a patient list.
enum AuditPatientIndex {
    /// The digest that names `text` (a list's stored JSON) in `patient_set`.
    static func digest(_ text: String) -> Data { Sodium.fingerprint(text) }

    /// Stores the list `patientIDs` (whose JSON is `text`) unless it is
    /// already stored; returns its digest.
    static func store(_ patientIDs: [String], text: String, in db: Database) throws -> Data {
        let digest = digest(text)
        // Looked up first: an INSERT OR IGNORE would check the list's JSON
        // (its CHECK runs before the key conflict) on every repeated read.
        guard try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM audit_patient_sets WHERE digest = ?"), arguments: [digest]) == nil
        else { return digest }
        try db.cachedStatement(sql: "INSERT INTO audit_patient_sets (digest, patient_ids) VALUES (?, ?)").execute(arguments: [digest, text])
        let member = try db.cachedStatement(sql: "INSERT OR IGNORE INTO audit_patient_set_members (patient_id, digest) VALUES (?, ?)")
        for id in patientIDs { try member.execute(arguments: [id, digest]) }
        return digest
    }

    /// Whether the stored members of the list `digest` are exactly the
    /// patients of its JSON `list`.
    static func membersMatch(_ digest: Data, list: String, in db: Database) throws -> Bool {
        let (members, missing) = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT (SELECT count(*) FROM audit_patient_set_members WHERE digest = ?1),
                   (SELECT count(*) FROM (SELECT DISTINCT value FROM json_each(?2)) j
                    WHERE NOT EXISTS (SELECT 1 FROM audit_patient_set_members m WHERE m.digest = ?1 AND m.patient_id = j.value))
            """), arguments: [digest, list]).map { ($0[0] as Int, $0[1] as Int) } ?? (0, 0)
        let distinct = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(DISTINCT value) FROM json_each(?)"), arguments: [list]) ?? 0
        return missing == 0 && members == distinct
    }

    /// The first entry whose patients and `audit_log_patients` (filled by
    /// trigger) disagree: an entry's own patient, or one of the patients an
    /// entry from before 0004 lists, missing from the index (access history
    /// would not show that read), or an index row for a patient its entry
    /// does not name (access history would show a reader who was not).
    static func singlePatientMismatch(in db: Database) throws -> (seq: Int64, reason: String)? {
        let missing = "its patient is missing from the index of entries by patient (access history would not show it)"
        let extra = "the index of entries by patient names a patient this entry does not (access history would show a read that was not)"
        let checks: [(sql: String, reason: String)] = [
            ("""
             SELECT a.seq FROM audit_logs a
             WHERE a.patient_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM audit_log_patients p WHERE p.patient_id = a.patient_id AND p.audit_seq = a.seq)
             ORDER BY a.seq LIMIT 1
             """, missing),
            ("""
             SELECT a.seq FROM audit_logs a, json_each(a.patient_ids) j
             WHERE a.patient_ids IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM audit_log_patients p WHERE p.patient_id = j.value AND p.audit_seq = a.seq)
             ORDER BY a.seq LIMIT 1
             """, missing),
            ("""
             SELECT p.audit_seq FROM audit_log_patients p
             WHERE NOT EXISTS (SELECT 1 FROM audit_logs a WHERE a.seq = p.audit_seq
                                 AND (a.patient_id = p.patient_id
                                      OR EXISTS (SELECT 1 FROM json_each(a.patient_ids) j WHERE j.value = p.patient_id)))
             ORDER BY p.audit_seq LIMIT 1
             """, extra),
        ]
        var first: (seq: Int64, reason: String)?
        for check in checks {
            if let seq = try Int64.fetchOne(db, sql: check.sql), seq < first?.seq ?? .max { first = (seq, check.reason) }
        }
        return first
    }

    /// A condition on `audit_logs a`: the entry involves the patient (bound
    /// twice, as the two arguments returned).
    static func involves(patientID: String) -> (sql: String, arguments: StatementArguments) {
        ("""
         a.seq IN (SELECT audit_seq FROM audit_log_patients WHERE patient_id = ?
                   UNION ALL
                   SELECT l.seq FROM audit_patient_set_members m JOIN audit_logs l ON l.patient_set = m.digest
                   WHERE m.patient_id = ?)
         """, [patientID, patientID])
    }
}
