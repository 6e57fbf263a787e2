import Foundation
import GRDB

/// What the care team writes about a patient's recovery: medications
/// prescribed or recorded, goals assigned, meeting attendance verified and
/// flags acknowledged or resolved. Each needs `care_plan.manage` through
/// `AccessPolicy`, is audited in the same transaction, and medications and
/// goals enter the patient's sync feed so the app receives them.
public struct CarePlan: Sendable {
    public struct Medication: Sendable {
        public var name: String?
        public var dose: String?
        public var route: String?
        public var scheduleTimes: [String]?
        public var startsOn: String?
        public var endsOn: String?
        public var status: String?
        public init() {}
    }

    public struct Goal: Sendable {
        public var title: String?
        public var description: String?
        public var category: String?
        public var targetDate: String?
        public var status: String?
        public init() {}
    }

    let appliance: Appliance
    var directory: PatientDirectory { PatientDirectory(appliance: appliance) }

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    // MARK: Validation

    /// Checks a text field; `nonEmpty` refuses a blank value whenever one is sent.
    static func text(_ value: String?, _ field: String, max: Int, required: Bool, nonEmpty: Bool = false, into problems: inout [RecordProblem]) {
        guard let value else {
            if required { problems.append(RecordProblem(field, "is required")) }
            return
        }
        if value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, required || nonEmpty { problems.append(RecordProblem(field, "must not be empty")) }
        else if value.unicodeScalars.count > max { problems.append(RecordProblem(field, "must be at most \(max) characters")) }
        else if TextRules.hasControlCharacters(value, allowLineBreaks: true) { problems.append(RecordProblem(field, "must not contain control characters")) }
    }

    static func date(_ value: String?, _ field: String, into problems: inout [RecordProblem]) {
        if let value, !CalendarDate.isValid(value) { problems.append(RecordProblem(field, "must be a real date as YYYY-MM-DD")) }
    }

    public static func problems(_ m: Medication, creating: Bool) -> [RecordProblem] {
        var problems: [RecordProblem] = []
        text(m.name, "name", max: 200, required: creating, nonEmpty: true, into: &problems)
        text(m.dose, "dose", max: 100, required: false, into: &problems)
        text(m.route, "route", max: 50, required: false, into: &problems)
        if let times = m.scheduleTimes {
            if times.count > 12 { problems.append(RecordProblem("schedule.times", "must have at most 12 times")) }
            else if !times.allSatisfy(Self.isClockTime) { problems.append(RecordProblem("schedule.times", "must be times as HH:MM")) }
        }
        date(m.startsOn, "starts_on", into: &problems)
        date(m.endsOn, "ends_on", into: &problems)
        if let s = m.startsOn, let e = m.endsOn, CalendarDate.isValid(s), CalendarDate.isValid(e), e < s {
            problems.append(RecordProblem("ends_on", "must not be before starts_on"))
        }
        if let status = m.status, !CarePlanRecords.medicationStatuses.contains(status) {
            problems.append(RecordProblem("status", "must be one of " + CarePlanRecords.medicationStatuses.joined(separator: ", ")))
        }
        return problems
    }

    public static func problems(_ g: Goal, creating: Bool) -> [RecordProblem] {
        var problems: [RecordProblem] = []
        text(g.title, "title", max: 200, required: creating, nonEmpty: true, into: &problems)
        text(g.description, "description", max: 2_000, required: false, into: &problems)
        text(g.category, "category", max: 50, required: false, into: &problems)
        date(g.targetDate, "target_date", into: &problems)
        if let status = g.status, !CarePlanRecords.goalStatuses.contains(status) {
            problems.append(RecordProblem("status", "must be one of " + CarePlanRecords.goalStatuses.joined(separator: ", ")))
        }
        return problems
    }

    static func isClockTime(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard text.utf8.count == 5, parts.count == 2, parts.allSatisfy({ $0.utf8.allSatisfy { (48...57).contains($0) } }),
              let h = Int(parts[0]), let m = Int(parts[1]) else { return false }
        return (0...23).contains(h) && (0...59).contains(m)
    }

    // MARK: Medications

    public func prescribe(_ identity: Identity, patientID: String, _ m: Medication, origin: RequestOrigin) async throws -> JSONValue {
        let problems = Self.problems(m, creating: true)
        if !problems.isEmpty { throw RecordFailure.invalid(problems) }
        return try await change(identity, patientID, action: "medication.create", origin: origin) { db, granted, stamp in
            let id = RowID.make()
            try db.execute(sql: """
                INSERT INTO patient_medications (id, facility_id, patient_id, name_enc, dose, route, schedule, prescribed_by, starts_on, ends_on,
                    status, created_by, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, granted.facilityID, patientID, appliance.cipher.seal(m.name!, field: .patientMedicationsName, rowID: id),
                                 m.dose, m.route, Self.schedule(m.scheduleTimes ?? []), identity.subjectID, m.startsOn, m.endsOn,
                                 m.status ?? "active", identity.subjectID, stamp, stamp])
            return ("patient_medications", id)
        } load: { db, id in try CarePlanRecords.medication(id, cipher: appliance.cipher, in: db) }
    }

    public func updateMedication(_ identity: Identity, patientID: String, medicationID: String, _ m: Medication,
                                 origin: RequestOrigin) async throws -> JSONValue {
        let problems = Self.problems(m, creating: false)
        if !problems.isEmpty { throw RecordFailure.invalid(problems) }
        return try await change(identity, patientID, action: "medication.update", origin: origin) { db, granted, stamp in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT starts_on, ends_on FROM patient_medications WHERE id = ? AND facility_id = ? AND patient_id = ? AND deleted_at IS NULL
                """, arguments: [medicationID, granted.facilityID, patientID]) else { throw RecordFailure.notFound("medication") }
            if let s = m.startsOn ?? row["starts_on"], let e = m.endsOn ?? row["ends_on"], e < s {
                throw RecordFailure.invalid([RecordProblem("ends_on", "must not be before starts_on")])
            }
            if let name = m.name {
                try db.execute(sql: "UPDATE patient_medications SET name_enc = ? WHERE id = ?",
                               arguments: [appliance.cipher.seal(name, field: .patientMedicationsName, rowID: medicationID), medicationID])
            }
            try db.execute(sql: """
                UPDATE patient_medications SET dose = coalesce(?, dose), route = coalesce(?, route), schedule = coalesce(?, schedule),
                    starts_on = coalesce(?, starts_on), ends_on = coalesce(?, ends_on), status = coalesce(?, status), updated_at = ?
                WHERE id = ?
                """, arguments: [m.dose, m.route, m.scheduleTimes.map(Self.schedule), m.startsOn, m.endsOn, m.status, stamp, medicationID])
            return ("patient_medications", medicationID)
        } load: { db, id in try CarePlanRecords.medication(id, cipher: appliance.cipher, in: db) }
    }

    static func schedule(_ times: [String]) -> String {
        JSONValue.object(["times": .array(times.sorted().map(JSONValue.string))]).canonicalText
    }

    // MARK: Goals

    public func assignGoal(_ identity: Identity, patientID: String, _ g: Goal, origin: RequestOrigin) async throws -> JSONValue {
        let problems = Self.problems(g, creating: true)
        if !problems.isEmpty { throw RecordFailure.invalid(problems) }
        return try await change(identity, patientID, action: "goal.create", origin: origin) { db, granted, stamp in
            let id = RowID.make()
            try db.execute(sql: """
                INSERT INTO patient_goals (id, facility_id, patient_id, title_enc, description_enc, category, target_date, status, assigned_by,
                    created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, granted.facilityID, patientID, appliance.cipher.seal(g.title!, field: .patientGoalsTitle, rowID: id),
                                 appliance.cipher.seal(optional: g.description, field: .patientGoalsDescription, rowID: id),
                                 g.category, g.targetDate, g.status ?? "active", identity.subjectID, stamp, stamp])
            return ("patient_goals", id)
        } load: { db, id in try CarePlanRecords.goal(id, cipher: appliance.cipher, in: db) }
    }

    public func updateGoal(_ identity: Identity, patientID: String, goalID: String, _ g: Goal, origin: RequestOrigin) async throws -> JSONValue {
        let problems = Self.problems(g, creating: false)
        if !problems.isEmpty { throw RecordFailure.invalid(problems) }
        return try await change(identity, patientID, action: "goal.update", origin: origin) { db, granted, stamp in
            guard try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM patient_goals WHERE id = ? AND facility_id = ? AND patient_id = ? AND deleted_at IS NULL)
                """, arguments: [goalID, granted.facilityID, patientID]) == true else { throw RecordFailure.notFound("goal") }
            let cipher = appliance.cipher
            try db.execute(sql: """
                UPDATE patient_goals SET title_enc = coalesce(?, title_enc), description_enc = coalesce(?, description_enc),
                    category = coalesce(?, category), target_date = coalesce(?, target_date), status = coalesce(?, status),
                    completed_at = CASE WHEN ? = 'completed' AND completed_at IS NULL THEN ? ELSE completed_at END, updated_at = ?
                WHERE id = ?
                """, arguments: [g.title.map { cipher.seal($0, field: .patientGoalsTitle, rowID: goalID) },
                                 g.description.map { cipher.seal($0, field: .patientGoalsDescription, rowID: goalID) },
                                 g.category, g.targetDate, g.status, g.status, stamp, stamp, goalID])
            return ("patient_goals", goalID)
        } load: { db, id in try CarePlanRecords.goal(id, cipher: appliance.cipher, in: db) }
    }

    // MARK: Meetings and flags

    public func verifyMeeting(_ identity: Identity, patientID: String, attendanceID: String, origin: RequestOrigin) async throws -> JSONValue {
        try await change(identity, patientID, action: "meeting_attendance.verify", origin: origin) { db, granted, stamp in
            try db.execute(sql: """
                UPDATE meeting_attendance SET verification = 'staff_verified', verified_by = ?, verified_at = ?, updated_at = ?
                WHERE id = ? AND facility_id = ? AND patient_id = ? AND deleted_at IS NULL
                """, arguments: [identity.subjectID, stamp, stamp, attendanceID, granted.facilityID, patientID])
            guard db.changesCount == 1 else { throw RecordFailure.notFound("meeting attendance") }
            return ("meeting_attendance", attendanceID)
        } load: { db, id in try RecordKind.meetingAttendance.load([id], patientID: patientID, cipher: appliance.cipher, in: db)[id] }
    }

    public func updateFlag(_ identity: Identity, patientID: String, flagID: String, status: String, origin: RequestOrigin) async throws -> JSONValue {
        guard status == "acknowledged" || status == "resolved" else {
            throw RecordFailure.invalid([RecordProblem("status", "must be acknowledged or resolved")])
        }
        return try await change(identity, patientID, action: status == "resolved" ? "flag.resolve" : "flag.acknowledge", origin: origin, feed: false) { db, granted, stamp in
            try db.execute(sql: """
                UPDATE patient_flags SET status = CASE WHEN status = 'resolved' THEN status ELSE ? END,
                    acknowledged_by = coalesce(acknowledged_by, ?), acknowledged_at = coalesce(acknowledged_at, ?),
                    resolved_by = CASE WHEN ? = 'resolved' THEN coalesce(resolved_by, ?) ELSE resolved_by END,
                    resolved_at = CASE WHEN ? = 'resolved' THEN coalesce(resolved_at, ?) ELSE resolved_at END, updated_at = ?
                WHERE id = ? AND facility_id = ? AND patient_id = ?
                """, arguments: [status, identity.subjectID, stamp, status, identity.subjectID, status, stamp, stamp,
                                 flagID, granted.facilityID, patientID])
            guard db.changesCount == 1 else { throw RecordFailure.notFound("flag") }
            return ("patient_flags", flagID)
        } load: { db, id in
            try Row.fetchOne(db, sql: "SELECT \(PatientRecords.flagSelection) FROM patient_flags WHERE id = ?", arguments: [id])
                .map(PatientRecords.flagOutput)
        }
    }

    /// Authorises, writes, audits and (for records the app receives) adds
    /// the change to the patient's sync feed, all in one transaction.
    func change(_ identity: Identity, _ patientID: String, action: String, origin: RequestOrigin, feed: Bool = true,
                _ write: @escaping @Sendable (Database, PatientAccess, String) throws -> (table: String, id: String),
                load: @escaping @Sendable (Database, String) throws -> JSONValue?) async throws -> JSONValue {
        let directory = self.directory
        return try await directory.writeAuthorized(identity, patientID, .carePlanManage, action: action, origin: origin) { db, granted in
            let stamp = Timestamp.now()
            let (table, id) = try write(db, granted, stamp)
            if feed {
                try db.execute(sql: "INSERT INTO sync_changes (facility_id, patient_id, record_type, record_id, op, changed_at) VALUES (?, ?, ?, ?, 'upsert', ?)",
                               arguments: [granted.facilityID, patientID, table, id, stamp])
            }
            try appliance.audit.append(directory.successEvent(action, identity, granted, origin, details: ["record": id]), in: db)
            guard let output = try load(db, id) else { throw RecordFailure.notFound("record") }
            return output
        }
    }
}
