import GRDB

/// Clinical records (treatment plans, consents, documents) are reached through
/// their patient: staff by the patient rules (`PatientRules`) with the route's
/// permission, so a care-team counselor reaches their patients' records and an
/// administrator their facility's; another facility's record answers 404 like
/// one that does not exist. A patient reaches only their own signed plans and
/// the documents made visible to them (`patientVisibleDocument`), everything
/// else of theirs or of others being 404.
extension AccessPolicy {
    /// The tables of clinical records reached through their patient.
    public enum ClinicalTable: String, Sendable {
        case treatmentPlans = "treatment_plans"
        case consents
        case documents
    }

    /// The patient a live clinical record is about, nil when there is no such record.
    public static func patientOfRecord(_ table: ClinicalTable, _ id: String, in db: Database) throws -> String? {
        try String.fetchOne(db, sql: "SELECT patient_id FROM \(table.rawValue) WHERE id = ? AND deleted_at IS NULL", arguments: [id])
    }

    public static func patientOfRecord(_ table: ClinicalTable, _ id: String, in pool: DatabasePool) async throws -> String? {
        try await pool.read { db in try patientOfRecord(table, id, in: db) }
    }

    /// Decides whether a patient may read a document: their own, live and
    /// made visible to them. Anything else is `notFound`.
    public static func patientVisibleDocument(_ identity: Identity, _ documentID: String, in db: Database) throws -> OwnRecords {
        let own = try ownRecords(identity)
        guard try Bool.fetchOne(db, sql: """
            SELECT EXISTS (SELECT 1 FROM documents WHERE id = ? AND facility_id = ? AND patient_id = ? AND patient_visible = 1 AND deleted_at IS NULL)
            """, arguments: [documentID, own.facilityID, own.id]) == true else { throw AccessError.notFound }
        return own
    }
}
