import Foundation
import GRDB

/// Staff reading and changing patient records, always through `AccessPolicy`
/// (permission, facility, restriction, care team) and always audited: reads
/// through the group-commit `AuditWriter` before any data is returned,
/// writes in the same transaction as the change, refusals as `denied`.
public struct PatientDirectory: Sendable {
    public struct ListQuery: Sendable {
        public var page = 1
        public var limit = 20
        public var status: String?
        public var counselorID: String?
        public var program: String?
        public var admittedFrom: String?
        public var admittedTo: String?
        /// Exact normalised first or last name (or "first last"), or a patient number.
        public var search: String?
        public init() {}
    }

    public struct Page<Item: Sendable>: Sendable {
        public var items: [Item]
        public var total: Int
        public var page: Int
        public var limit: Int
    }

    /// A patient as shown to staff, with the computed fields.
    public struct Detail: Sendable {
        public var record: PatientRecord
        public var isRestricted: Bool
        public var dischargeDate: String?
        public var daysSober: Int?
        public var lengthOfStayDays: Int?
    }

    public struct Changes: Sendable {
        public var firstName: String?
        public var lastName: String?
        public var dateOfBirth: String?
        public var email: String?
        public var phone: String?
        public var program: String?
        public var status: String?
        public var levelOfCare: String?
        public var levelOfCareReason: String?
        public var admissionDate: String?
        public var dischargeDate: String?
        public var isRestricted: Bool?
        public init() {}
    }

    public static let statuses = ["pending_registration", "active", "discharged", "inactive"]

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    var pool: DatabasePool { appliance.database.pool }

    // MARK: Reads

    public func list(_ identity: Identity, _ query: ListQuery, origin: RequestOrigin) async throws -> Page<PatientRecord> {
        let scope: PatientListScope
        do {
            scope = try AccessPolicy.patientList(identity, for: .patientsReadDemographics)
        } catch let error as AccessError {
            try await deny(identity, action: "patient.list", patientID: nil, reason: error, origin: origin)
            throw error
        }
        var sql = scope.sql
        var arguments = scope.arguments
        if let status = query.status { sql += " AND p.status = ?"; arguments += [status] }
        if let program = query.program { sql += " AND p.program = ?"; arguments += [program] }
        if let from = query.admittedFrom { sql += " AND p.admission_date >= ?"; arguments += [from] }
        if let to = query.admittedTo { sql += " AND p.admission_date <= ?"; arguments += [to] }
        if let counselor = query.counselorID {
            let onTeam = AccessPolicy.careTeamCondition(of: counselor)
            sql += " AND " + onTeam.sql
            arguments += onTeam.arguments
        }
        if let search = query.search {
            let (searchSQL, searchArguments) = searchCondition(search)
            sql += " AND " + searchSQL
            arguments += searchArguments
        }
        let (where_, args) = (sql, arguments)
        // An unfiltered list that the gate does not narrow counts every live
        // patient in scope: kept by triggers in facility_patient_counts.
        let filters: [String?] = [query.status, query.program, query.admittedFrom, query.admittedTo, query.counselorID, query.search]
        let wholeFacilities = scope.wholeFacilities && filters.allSatisfy { $0 == nil }
        let (scopeSQL, scopeArguments) = scope.facilities.sql()
        let countSQL = wholeFacilities
            ? "SELECT coalesce(sum(live), 0) FROM facility_patient_counts WHERE \(scopeSQL)"
            : "SELECT count(*) FROM patients p WHERE \(where_)"
        let countArguments = wholeFacilities ? scopeArguments : args
        let (total, records) = try await appliance.database.read { db -> (Int, [PatientRecord]) in
            let total = try Int.fetchOne(db.cachedStatement(sql: countSQL), arguments: countArguments) ?? 0
            var records: [PatientRecord] = []
            records.reserveCapacity(query.limit)
            try db.cachedStatement(sql: """
                SELECT \(PatientRecord.selection) FROM patients p WHERE \(where_) ORDER BY p.created_at, p.id LIMIT ? OFFSET ?
                """).forEachRow(arguments: args + [query.limit, (query.page - 1) * query.limit]) { row in
                records.append(try PatientRecord(row, cipher: appliance.cipher))
            }
            return (total, records)
        }
        try await appliance.auditWriter.record(AuditEvent(
            action: "patient.list", outcome: .success, actorKind: .staff, actorID: identity.subjectID,
            facilityID: identity.facilityID, resourceType: "patient", patientIDs: records.map(\.id),
            ipAddress: origin.ipAddress, requestID: origin.requestID, details: ["count": String(records.count)]))
        return Page(items: records, total: total, page: query.page, limit: query.limit)
    }

    /// Name search through the blind indexes: one word matches a first or
    /// last name exactly (after normalisation), two words a first and last
    /// name in either order; a patient number matches itself.
    func searchCondition(_ search: String) -> (String, StatementArguments) {
        let words = BlindIndex.normalise(search).split(separator: " ").map(String.init)
        let index = appliance.blindIndex
        var clauses = ["p.patient_number = ?"]
        var arguments: StatementArguments = [search.trimmingCharacters(in: .whitespaces).uppercased()]
        // During a key rotation a row may carry the old or the new digest.
        func match(_ column: String, _ word: String, _ field: BlindIndexField) -> String {
            let lookup = index.lookup(word, for: field)
            arguments += lookup.arguments
            return lookup.sql(column)
        }
        if words.count == 1 {
            clauses.append(match("p.first_name_bidx", words[0], .patientsFirstName) + " OR " + match("p.last_name_bidx", words[0], .patientsLastName))
        } else if words.count >= 2 {
            let first = words[0], last = words[1...].joined(separator: " ")
            clauses.append("(" + match("p.first_name_bidx", first, .patientsFirstName) + " AND " + match("p.last_name_bidx", last, .patientsLastName)
                           + ") OR (" + match("p.first_name_bidx", words.last!, .patientsFirstName) + " AND "
                           + match("p.last_name_bidx", words.dropLast().joined(separator: " "), .patientsLastName) + ")")
        }
        return ("(" + clauses.joined(separator: " OR ") + ")", arguments)
    }

    public func detail(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws -> Detail {
        try await readAuthorized(identity, patientID, .patientsReadDemographics, action: "patient.read", origin: origin) { db, granted in
            try loadDetail(patientID, facilityID: granted.facilityID, in: db)
        }
    }

    /// Checks access and reads in one database read (one hop instead of
    /// two), then records the read durably before returning it. A refusal is
    /// audited as denied and rethrown.
    func readAuthorized<T: Sendable>(_ identity: Identity, _ patientID: String, _ permission: Permission, action: String,
                                     origin: RequestOrigin, _ body: @escaping @Sendable (Database, PatientAccess) throws -> T) async throws -> T {
        let result: (T, PatientAccess)
        do {
            result = try await appliance.database.read { db in
                let granted = try AccessPolicy.patient(identity, patientID, for: permission, in: db)
                return (try body(db, granted), granted)
            }
        } catch let error as AccessError {
            try await deny(identity, action: action, patientID: patientID, reason: error, origin: origin)
            throw error
        }
        try await appliance.auditWriter.record(successEvent(action, identity, result.1, origin))
        return result.0
    }

    func loadDetail(_ patientID: String, facilityID: String, includeDeleted: Bool = false, in db: Database) throws -> Detail {
        var detail: Detail?
        try db.cachedStatement(sql: """
            SELECT \(PatientRecord.selection), f.timezone, p.is_restricted, p.discharge_date
            FROM patients p JOIN facilities f ON f.id = p.facility_id
            WHERE p.id = ? AND p.facility_id = ?
            """).forEachRow(arguments: [patientID, facilityID]) { row in
            let record = try PatientRecord(row, cipher: appliance.cipher)
            let extra = PatientRecord.selectionCount
            let today = CalendarDate.today(in: row.text(extra))
            let discharge = row.optionalText(extra + 2)
            detail = Detail(
                record: record, isRestricted: row.bool(extra + 1), dischargeDate: discharge,
                daysSober: record.sobrietyDate.flatMap { CalendarDate.days(from: $0, to: today) },
                lengthOfStayDays: record.admissionDate.flatMap { CalendarDate.days(from: $0, to: discharge ?? today) })
        }
        guard let detail else { throw AccessError.notFound }
        return detail
    }

    // MARK: Writes

    /// Every problem with `changes`, each naming its field.
    public static func problems(_ changes: Changes) -> [(field: String, issue: String)] {
        // The intake rules, applied to the fields present (absent ones stand in valid).
        let probe = PatientIntake.Request(firstName: changes.firstName ?? "x", lastName: changes.lastName ?? "x",
                                          dateOfBirth: changes.dateOfBirth ?? "1990-01-01", email: changes.email, phone: changes.phone,
                                          program: changes.program, levelOfCare: changes.levelOfCare,
                                          admissionDate: changes.admissionDate)
        var problems = PatientIntake.problems(probe)
        if let discharge = changes.dischargeDate, !CalendarDate.isValid(discharge) {
            problems.append(("discharge_date", "must be a real date as YYYY-MM-DD"))
        }
        if let status = changes.status, !statuses.contains(status) {
            problems.append(("status", "must be one of: " + statuses.joined(separator: ", ")))
        }
        if let reason = changes.levelOfCareReason, reason.count > 500 {
            problems.append(("level_of_care_reason", "must be at most 500 characters"))
        }
        return problems
    }

    public func update(_ identity: Identity, patientID: String, changes: Changes, origin: RequestOrigin) async throws -> Detail {
        // The restricted flag needs patients.restrict; every other field patients.update.
        let others: [String?] = [changes.firstName, changes.lastName, changes.dateOfBirth, changes.email, changes.phone, changes.program,
                                 changes.status, changes.levelOfCare, changes.levelOfCareReason, changes.admissionDate, changes.dischargeDate]
        let changesOther = others.contains { $0 != nil }
        let needed: Permission = changes.isRestricted != nil ? .patientsRestrict : .patientsUpdate
        let (detail, ended) = try await writeAuthorized(identity, patientID, needed, action: "patient.update", origin: origin) { db, granted -> (Detail, [String]) in
            if changes.isRestricted != nil, changesOther { _ = try AccessPolicy.patient(identity, patientID, for: .patientsUpdate, in: db) }
            let before = try loadDetail(patientID, facilityID: granted.facilityID, in: db)
            if let email = changes.email, try appliance.patientStore.emailInUse(email, facilityID: granted.facilityID, exceptPatient: patientID, in: db) {
                throw AuthError.emailInUse
            }
            let admission = changes.admissionDate ?? before.record.admissionDate
            if let discharge = changes.dischargeDate ?? before.dischargeDate, let admission, discharge < admission {
                throw AuthError.invalid(field: "discharge_date", issue: "must not be before the admission date")
            }
            let cipher = appliance.cipher, index = appliance.blindIndex
            var sets: [String] = [], arguments: StatementArguments = []
            func set(_ column: String, _ value: (any DatabaseValueConvertible)?) { sets.append("\(column) = ?"); arguments += [value] }
            var changed: [String] = []
            if let v = changes.firstName?.trimmingCharacters(in: .whitespacesAndNewlines) {
                set("first_name_enc", cipher.seal(v, field: .patientsFirstName, rowID: patientID))
                set("first_name_bidx", index.index(v, for: .patientsFirstName)); changed.append("first_name")
            }
            if let v = changes.lastName?.trimmingCharacters(in: .whitespacesAndNewlines) {
                set("last_name_enc", cipher.seal(v, field: .patientsLastName, rowID: patientID))
                set("last_name_bidx", index.index(v, for: .patientsLastName)); changed.append("last_name")
            }
            if let v = changes.dateOfBirth { set("date_of_birth_enc", cipher.seal(v, field: .patientsDateOfBirth, rowID: patientID)); changed.append("date_of_birth") }
            if let v = changes.email {
                set("email_enc", cipher.seal(v, field: .patientsEmail, rowID: patientID))
                set("email_bidx", index.index(v, for: .patientsEmail)); changed.append("email")
            }
            if let v = changes.phone { set("phone_enc", cipher.seal(v, field: .patientsPhone, rowID: patientID)); changed.append("phone") }
            if let v = changes.program { set("program", v); changed.append("program") }
            if let v = changes.status { set("status", v); changed.append("status") }
            if let v = changes.admissionDate { set("admission_date", v); changed.append("admission_date") }
            if let v = changes.dischargeDate { set("discharge_date", v); changed.append("discharge_date") }
            if let v = changes.isRestricted { set("is_restricted", v); changed.append("is_restricted") }
            if let level = changes.levelOfCare, level != before.record.levelOfCare {
                set("level_of_care", level); changed.append("level_of_care")
                let historyID = RowID.make()
                try db.execute(sql: """
                    INSERT INTO patient_level_of_care_history (id, facility_id, patient_id, previous_level, new_level, effective_date, reason_enc, changed_by)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [historyID, granted.facilityID, patientID, before.record.levelOfCare, level,
                                     String(Timestamp.now().prefix(10)),
                                     cipher.seal(optional: changes.levelOfCareReason, field: .patientLevelOfCareHistoryReason, rowID: historyID),
                                     identity.subjectID])
            }
            if !sets.isEmpty {
                set("updated_at", Timestamp.now())
                try db.execute(sql: "UPDATE patients SET \(sets.joined(separator: ", ")) WHERE id = ?", arguments: arguments + [patientID])
                if !Set(changed).isDisjoint(with: ["first_name", "last_name", "date_of_birth", "email", "phone"]) {
                    try PatientCard.refresh(patientID, cipher: cipher, in: db)
                }
            }
            try appliance.audit.append(successEvent("patient.update", identity, granted, origin, details: ["fields": changed.joined(separator: ",")]), in: db)
            let ended = changes.status == "inactive" && before.record.status != "inactive"
                ? try endPatientSessions(patientID, facilityID: granted.facilityID, reason: "patient_inactive", in: db) : []
            return (try loadDetail(patientID, facilityID: granted.facilityID, in: db), ended)
        }
        appliance.revokedSessions.insert(ended)
        return detail
    }

    /// Resets the sobriety date, keeping the old one with the reason.
    public func resetSobriety(_ identity: Identity, patientID: String, date: String, reason: String?, origin: RequestOrigin) async throws -> Detail {
        try await writeAuthorized(identity, patientID, .patientsUpdate, action: "patient.sobriety_reset", origin: origin) { db, granted in
            let before = try loadDetail(patientID, facilityID: granted.facilityID, in: db)
            let historyID = RowID.make()
            try db.execute(sql: """
                INSERT INTO patient_sobriety_history (id, facility_id, patient_id, previous_date, new_date, reason_enc, changed_by_kind, changed_by)
                VALUES (?, ?, ?, ?, ?, ?, 'staff', ?)
                """, arguments: [historyID, granted.facilityID, patientID, before.record.sobrietyDate, date,
                                 appliance.cipher.seal(optional: reason, field: .patientSobrietyHistoryReason, rowID: historyID), identity.subjectID])
            try db.execute(sql: "UPDATE patients SET sobriety_date = ?, updated_at = ? WHERE id = ?", arguments: [date, Timestamp.now(), patientID])
            try appliance.audit.append(successEvent("patient.sobriety_reset", identity, granted, origin), in: db)
            return try loadDetail(patientID, facilityID: granted.facilityID, in: db)
        }
    }

    /// Soft delete: the patient leaves lists; nothing is erased.
    public func delete(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws {
        let ended = try await writeAuthorized(identity, patientID, .patientsDelete, action: "patient.delete", origin: origin) { db, granted -> [String] in
            let now = Timestamp.now()
            try db.execute(sql: "UPDATE patients SET deleted_at = ?, updated_at = ? WHERE id = ?", arguments: [now, now, patientID])
            try appliance.audit.append(successEvent("patient.delete", identity, granted, origin), in: db)
            return try endPatientSessions(patientID, facilityID: granted.facilityID, reason: "patient_deleted", in: db)
        }
        appliance.revokedSessions.insert(ended)
    }

    /// A deleted or deactivated patient's app is signed out at once.
    func endPatientSessions(_ patientID: String, facilityID: String, reason: String, in db: Database) throws -> [String] {
        try appliance.sessionStore.revokeAll(of: .init(kind: .patient, id: patientID, facilityID: facilityID), reason: reason, in: db)
    }

    public func restore(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws -> Detail {
        try await writeAuthorized(identity, patientID, .patientsRestore, action: "patient.restore", includeDeleted: true, origin: origin) { db, granted in
            if let email = try appliance.patientStore.account(id: patientID, in: db)?.email,
               try appliance.patientStore.emailInUse(email, facilityID: granted.facilityID, exceptPatient: patientID, in: db) {
                throw AuthError.emailInUse
            }
            try db.execute(sql: "UPDATE patients SET deleted_at = NULL, updated_at = ? WHERE id = ?", arguments: [Timestamp.now(), patientID])
            try appliance.audit.append(successEvent("patient.restore", identity, granted, origin), in: db)
            return try loadDetail(patientID, facilityID: granted.facilityID, in: db)
        }
    }

    // MARK: Helpers

    /// The policy's decision for one patient, with refusals audited as `denied` (and reported as thrown).
    public func authorize(_ identity: Identity, _ patientID: String, _ permission: Permission, action: String,
                   includeDeleted: Bool = false, origin: RequestOrigin) async throws -> PatientAccess {
        do {
            return try await appliance.database.read { db in
                try AccessPolicy.patient(identity, patientID, for: permission, includeDeleted: includeDeleted, in: db)
            }
        } catch let error as AccessError {
            try await deny(identity, action: action, patientID: patientID, reason: error, origin: origin)
            throw error
        }
    }

    /// Writes with the policy deciding again inside the write transaction, so
    /// access taken away after the first decision (an ended assignment, a
    /// revoked grant, a deleted patient) stops the write; a refusal is audited.
    func writeAuthorized<T: Sendable>(_ identity: Identity, _ patientID: String, _ permission: Permission, action: String,
                                      includeDeleted: Bool = false, origin: RequestOrigin,
                                      _ body: @escaping @Sendable (Database, PatientAccess) throws -> T) async throws -> T {
        do {
            return try await pool.write { db in
                try body(db, try AccessPolicy.patient(identity, patientID, for: permission, includeDeleted: includeDeleted, in: db))
            }
        } catch let error as AccessError {
            try await deny(identity, action: action, patientID: patientID, reason: error, origin: origin)
            throw error
        }
    }

    func deny(_ identity: Identity, action: String, patientID: String?, reason: AccessError, origin: RequestOrigin) async throws {
        try await appliance.auditWriter.record(.denied(action, by: identity, resourceType: "patient", resourceID: patientID,
                                                       patientID: patientID.flatMap { UUID(uuidString: $0) != nil ? $0 : nil },
                                                       reason: reason, origin))
    }

    func successEvent(_ action: String, _ identity: Identity, _ granted: PatientAccess, _ origin: RequestOrigin,
                    details: [String: String] = [:]) -> AuditEvent {
        AuditEvent(action: action, outcome: .success, actorKind: .staff, actorID: identity.subjectID, facilityID: granted.facilityID,
                   resourceType: "patient", resourceID: granted.patientID, patientID: granted.patientID,
                   ipAddress: origin.ipAddress, requestID: origin.requestID,
                   details: details.merging(["access": granted.basis]) { a, _ in a })
    }
}
