import Foundation
import GRDB

/// Reading recovery records: the patient their own (any kind), staff a
/// patient's through `AccessPolicy` with `patients.read_clinical`; both
/// audited like every other read of PHI, durably before the answer. Staff
/// see only the journal entries the patient chose to share.
public struct PatientRecords: Sendable {
    public struct Query: Sendable {
        public var page = 1
        public var limit = 50
        /// Inclusive YYYY-MM-DD bounds on the record's date (UTC for times).
        public var from: String?
        public var to: String?
        public init() {}
    }

    public struct Page: Sendable {
        public var items: [JSONValue]
        public var total: Int
        public var page: Int
        public var limit: Int
    }

    let appliance: Appliance
    var directory: PatientDirectory { PatientDirectory(appliance: appliance) }

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    public func listOwn(_ kind: RecordKind, patient: SyncEngine.Patient, query: Query, origin: RequestOrigin) async throws -> Page {
        let cipher = appliance.cipher
        return try await readOwn(patient, action: "\(kind.type).list", origin: origin) { db in
            try Self.page(kind, patientID: patient.id, facilityID: patient.facilityID, staff: false, query: query, cipher: cipher, in: db)
        }
    }

    /// A patient's read of their own records, recorded (actor: the patient)
    /// before it is returned, as staff reads are.
    func readOwn<T: Sendable>(_ patient: SyncEngine.Patient, action: String, origin: RequestOrigin,
                              _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let result = try await appliance.database.read(body)
        try await appliance.auditWriter.record(AuditEvent(
            action: action, outcome: .success, actorKind: .patient, actorID: patient.id, facilityID: patient.facilityID,
            resourceType: "patient_records", patientID: patient.id, ipAddress: origin.ipAddress, requestID: origin.requestID))
        return result
    }

    public func list(_ kind: RecordKind, _ identity: Identity, patientID: String, query: Query, origin: RequestOrigin) async throws -> Page {
        let cipher = appliance.cipher
        return try await directory.readAuthorized(identity, patientID, .patientsReadClinical, action: "\(kind.type).list", origin: origin) { db, granted in
            try Self.page(kind, patientID: patientID, facilityID: granted.facilityID, staff: true, query: query, cipher: cipher, in: db)
        }
    }

    static func page(_ kind: RecordKind, patientID: String, facilityID: String, staff: Bool, query: Query, cipher: FieldCipher,
                     in db: Database) throws -> Page {
        var condition = "facility_id = ? AND patient_id = ? AND deleted_at IS NULL"
        var arguments: StatementArguments = [facilityID, patientID]
        if staff, let extra = kind.staffCondition { condition += " AND " + extra }
        let day = "substr(\(kind.timeColumn), 1, 10)"
        if let from = query.from { condition += " AND \(day) >= ?"; arguments += [from] }
        if let to = query.to { condition += " AND \(day) <= ?"; arguments += [to] }
        let total = try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM \(kind.table) WHERE \(condition)"), arguments: arguments) ?? 0
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT \(kind.selection) FROM \(kind.table) WHERE \(condition) ORDER BY \(kind.timeColumn) DESC, id LIMIT ? OFFSET ?
            """), arguments: arguments + [query.limit, (query.page - 1) * query.limit])
        return Page(items: try rows.map { try kind.output($0, cipher: cipher) }, total: total, page: query.page, limit: query.limit)
    }

    // MARK: Care-team records

    public func medicationsOwn(_ patient: SyncEngine.Patient, origin: RequestOrigin) async throws -> [JSONValue] {
        let cipher = appliance.cipher
        return try await readOwn(patient, action: "medication.list", origin: origin) { db in
            try CarePlanRecords.medications(patientID: patient.id, facilityID: patient.facilityID, cipher: cipher, in: db)
        }
    }

    public func medications(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws -> [JSONValue] {
        let cipher = appliance.cipher
        return try await directory.readAuthorized(identity, patientID, .patientsReadClinical, action: "medication.list", origin: origin) { db, granted in
            try CarePlanRecords.medications(patientID: patientID, facilityID: granted.facilityID, cipher: cipher, in: db)
        }
    }

    /// `{data: goals, milestones, days_sober}`.
    public func goalsOwn(_ patient: SyncEngine.Patient, origin: RequestOrigin) async throws -> JSONValue {
        let cipher = appliance.cipher
        return try await readOwn(patient, action: "goal.list", origin: origin) { db in
            try CarePlanRecords.goalsView(patientID: patient.id, facilityID: patient.facilityID, cipher: cipher, in: db)
        }
    }

    public func goals(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws -> JSONValue {
        let cipher = appliance.cipher
        return try await directory.readAuthorized(identity, patientID, .patientsReadClinical, action: "goal.list", origin: origin) { db, granted in
            try CarePlanRecords.goalsView(patientID: patientID, facilityID: granted.facilityID, cipher: cipher, in: db)
        }
    }

    // MARK: Flags

    public static let flagStatuses = ["open", "acknowledged", "resolved"]

    public func flags(_ identity: Identity, patientID: String, status: String?, page: Int, limit: Int, origin: RequestOrigin) async throws -> Page {
        try await directory.readAuthorized(identity, patientID, .patientsReadClinical, action: "flag.list", origin: origin) { db, granted in
            var condition = "facility_id = ? AND patient_id = ?"
            var arguments: StatementArguments = [granted.facilityID, patientID]
            if let status { condition += " AND status = ?"; arguments += [status] }
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM patient_flags WHERE \(condition)", arguments: arguments) ?? 0
            let rows = try Row.fetchAll(db, sql: """
                SELECT \(Self.flagSelection) FROM patient_flags WHERE \(condition) ORDER BY raised_at DESC, id LIMIT ? OFFSET ?
                """, arguments: arguments + [limit, (page - 1) * limit])
            return Page(items: rows.map(Self.flagOutput), total: total, page: page, limit: limit)
        }
    }

    static let flagSelection = "id, kind, status, source_record_type, source_record_id, raised_at, acknowledged_at, resolved_at"

    static func flagOutput(_ row: Row) -> JSONValue {
        func text(_ column: String) -> JSONValue { (row[column] as String?).map(JSONValue.string) ?? .null }
        let table: String? = row["source_record_type"]
        return .object([
            "id": text("id"), "kind": text("kind"), "status": text("status"),
            "source_type": table.flatMap { RecordKind.stored(in: $0)?.type }.map(JSONValue.string) ?? .null,
            "source_id": text("source_record_id"), "raised_at": text("raised_at"),
            "acknowledged_at": text("acknowledged_at"), "resolved_at": text("resolved_at"),
        ])
    }
}
