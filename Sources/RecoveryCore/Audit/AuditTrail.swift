import Foundation
import GRDB

/// Reading the audit trail: administrators filter it; a patient's access
/// history shows who looked at them. There is no path that changes it.
public struct AuditTrail: Sendable {
    public struct Filter: Sendable {
        public var patientID: String?
        public var actorID: String?
        public var action: String?
        public var from: String?
        public var to: String?
        public var page = 1
        public var limit = 50
        public init() {}
    }

    public struct Entry: Sendable, Equatable {
        public var id: String
        public var seq: Int64
        public var occurredAt: String
        public var facilityID: String?
        public var actorKind: String
        public var actorID: String?
        public var action: String
        public var resourceType: String?
        public var resourceID: String?
        public var patientID: String?
        public var patientIDs: [String]?
        public var outcome: String
        public var ipAddress: String?
        public var requestID: String?
        public var details: [String: String]
    }

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    /// Entries of the identity's facility only (a super admin's: all). An
    /// entry belongs to the facility it was recorded for: a read of a patient
    /// to the patient's facility, a refusal to the actor's.
    public func list(_ identity: Identity, _ filter: Filter, origin: RequestOrigin) async throws -> (entries: [Entry], total: Int) {
        try AccessPolicy.require(identity, .auditRead)
        var (sql, arguments) = FacilityScope(identity).sql("a")
        if let patient = filter.patientID {
            let involves = AuditPatientIndex.involves(patientID: patient)
            sql += " AND " + involves.sql
            arguments += involves.arguments
        }
        if let actor = filter.actorID { sql += " AND a.actor_id = ?"; arguments += [actor] }
        if let action = filter.action { sql += " AND a.action = ?"; arguments += [action] }
        if let from = filter.from { sql += " AND a.occurred_at >= ?"; arguments += [from] }
        if let to = filter.to { sql += " AND a.occurred_at <= ?"; arguments += [to] }
        let (where_, args) = (sql, arguments)
        let result = try await appliance.database.read { db -> ([Entry], Int) in
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs a WHERE \(where_)", arguments: args) ?? 0
            let rows = try Row.fetchAll(db, sql: """
                SELECT a.*, coalesce(a.patient_ids, s.patient_ids) AS listed_patient_ids
                FROM audit_logs a LEFT JOIN audit_patient_sets s ON s.digest = a.patient_set
                WHERE \(where_) ORDER BY a.seq DESC LIMIT ? OFFSET ?
                """, arguments: args + [filter.limit, (filter.page - 1) * filter.limit])
            return (try rows.map(entry), total)
        }
        try await appliance.auditWriter.record(AuditEvent(
            action: "audit.read", outcome: .success, actorKind: .staff, actorID: identity.subjectID, facilityID: identity.facilityID,
            resourceType: "audit_log", patientID: filter.patientID, ipAddress: origin.ipAddress, requestID: origin.requestID))
        return result
    }

    /// Who read or changed this patient's records: for a facility's
    /// administrator, as recorded in their facility; for a super admin, all.
    public func accessHistory(_ identity: Identity, patientID: String, page: Int, limit: Int, origin: RequestOrigin) async throws -> (entries: [Entry], total: Int) {
        _ = try await PatientDirectory(appliance: appliance).authorize(identity, patientID, .auditRead, action: "patient.access_history", origin: origin)
        var filter = Filter()
        filter.patientID = patientID
        filter.page = page
        filter.limit = limit
        return try await list(identity, filter, origin: origin)
    }

    func entry(_ row: Row) throws -> Entry {
        let id: String = row["id"]
        let detailsText: String = row["details"]
        let patientIDs: String? = row["listed_patient_ids"]
        return Entry(
            id: id, seq: row["seq"], occurredAt: row["occurred_at"], facilityID: row["facility_id"], actorKind: row["actor_kind"],
            actorID: row["actor_id"], action: row["action"], resourceType: row["resource_type"], resourceID: row["resource_id"],
            patientID: row["patient_id"], patientIDs: patientIDs.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) },
            outcome: row["outcome"],
            ipAddress: try appliance.cipher.openString(optional: row["ip_address_enc"], field: .auditLogsIpAddress, rowID: id),
            requestID: row["request_id"],
            details: (try? JSONDecoder().decode([String: String].self, from: Data(detailsText.utf8))) ?? [:])
    }
}
