import Foundation
import GRDB

/// What a facility offers its patients' app: the craving-trigger list, the
/// meeting catalogue, and the recovery settings (check-ins a day, flag
/// thresholds). Staff of the facility read them; admins change them;
/// a patient reads their own facility's lists.
public struct FacilityCatalogue: Sendable {
    public struct MeetingFields: Sendable {
        public var name: String?
        public var kind: String?
        public var dayOfWeek: Int?
        public var startTime: String?
        public var durationMinutes: Int?
        public var location: String?
        public init() {}
    }

    public struct SettingsChange: Sendable {
        public var multipleCheckInsPerDay: Bool?
        public var lowMoodThreshold: Int?
        public var highCravingThreshold: Int?
        public var silenceDays: Int?
        public var riskFlagThreshold: Int?
        public init() {}
    }

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    /// The access policy's decision on the facility (which must exist), a
    /// refusal audited: reading is for its staff and its own patients,
    /// changing needs `facility.update`.
    func readable(_ identity: Identity, _ facilityID: String, _ origin: RequestOrigin, action: String) async throws {
        try await FacilityDirectory(appliance: appliance).decide(action, identity, facilityID, nil, origin)
    }

    func writable(_ identity: Identity, _ facilityID: String, _ origin: RequestOrigin, action: String) async throws {
        try await FacilityDirectory(appliance: appliance).decide(action, identity, facilityID, .facilityUpdate, origin)
    }

    // MARK: Triggers

    /// The signed-in patient's facility's triggers (the app's list).
    public func ownTriggers(_ identity: Identity, origin: RequestOrigin) async throws -> [JSONValue] {
        try await triggers(identity, facilityID: try AccessPolicy.ownRecords(identity).facilityID, origin: origin)
    }

    public func triggers(_ identity: Identity, facilityID: String, origin: RequestOrigin) async throws -> [JSONValue] {
        try await readable(identity, facilityID, origin, action: "facility.triggers.read")
        return try await appliance.database.read { db in
            return try Row.fetchAll(db, sql: """
                SELECT code, label, is_default FROM facility_triggers WHERE facility_id = ? AND is_active = 1 ORDER BY is_default DESC, sort_order, code
                """, arguments: [facilityID]).map(Self.triggerOutput)
        }
    }

    static func triggerOutput(_ row: Row) -> JSONValue {
        .object(["code": .string(row["code"]), "label": .string(row["label"]), "is_default": .bool(row["is_default"])])
    }

    public func addTrigger(_ identity: Identity, facilityID: String, code: String, label: String, origin: RequestOrigin) async throws -> JSONValue {
        try await writable(identity, facilityID, origin, action: "facility.update")
        var problems: [RecordProblem] = []
        if !RecordField.isCode(code) { problems.append(RecordProblem("code", "must be lowercase letters, digits or _ (at most 40), starting with a letter")) }
        CarePlan.text(label, "label", max: 80, required: true, into: &problems)
        if !problems.isEmpty { throw RecordFailure.invalid(problems) }
        return try await appliance.database.pool.write { db in
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM facility_triggers WHERE facility_id = ? AND code = ?)",
                                 arguments: [facilityID, code]) == true {
                throw RecordFailure.conflict(RecordProblem("code", "is already in the facility's list"))
            }
            try db.execute(sql: "INSERT INTO facility_triggers (id, facility_id, code, label, sort_order) VALUES (?, ?, ?, ?, 100)",
                           arguments: [RowID.make(), facilityID, code, label.trimmingCharacters(in: .whitespacesAndNewlines)])
            try appliance.audit.append(FacilityDirectory(appliance: appliance).event("facility.trigger_add", identity, facilityID, origin,
                                                                                     details: ["code": code]), in: db)
            return Self.triggerOutput(try Row.fetchOne(db, sql: "SELECT code, label, is_default FROM facility_triggers WHERE facility_id = ? AND code = ?",
                                                       arguments: [facilityID, code])!)
        }
    }

    // MARK: Meetings

    static let meetingSelection = "id, name, kind, day_of_week, start_time, duration_minutes, location, is_active"

    static func meetingOutput(_ row: Row) -> JSONValue {
        func text(_ column: String) -> JSONValue { (row[column] as String?).map(JSONValue.string) ?? .null }
        func int(_ column: String) -> JSONValue { (row[column] as Int?).map(JSONValue.integer) ?? .null }
        return .object(["id": text("id"), "name": text("name"), "kind": text("kind"), "day_of_week": int("day_of_week"),
                        "start_time": text("start_time"), "duration_minutes": int("duration_minutes"), "location": text("location"),
                        "is_active": .bool(row["is_active"])])
    }

    /// The signed-in patient's facility's meeting catalogue.
    public func ownMeetings(_ identity: Identity, origin: RequestOrigin) async throws -> [JSONValue] {
        try await meetings(identity, facilityID: try AccessPolicy.ownRecords(identity).facilityID, origin: origin)
    }

    public func meetings(_ identity: Identity, facilityID: String, origin: RequestOrigin) async throws -> [JSONValue] {
        try await readable(identity, facilityID, origin, action: "facility.meetings.read")
        return try await appliance.database.read { db in
            return try Row.fetchAll(db, sql: """
                SELECT \(Self.meetingSelection) FROM meetings WHERE facility_id = ? AND is_active = 1 ORDER BY day_of_week, start_time, name
                """, arguments: [facilityID]).map(Self.meetingOutput)
        }
    }

    public func addMeeting(_ identity: Identity, facilityID: String, _ m: MeetingFields, origin: RequestOrigin) async throws -> JSONValue {
        try await writable(identity, facilityID, origin, action: "facility.update")
        var problems: [RecordProblem] = []
        CarePlan.text(m.name, "name", max: 200, required: true, into: &problems)
        if !Meeting.kinds.contains(m.kind ?? "") { problems.append(RecordProblem("kind", "must be one of " + Meeting.kinds.joined(separator: ", "))) }
        if let day = m.dayOfWeek, !(0...6).contains(day) { problems.append(RecordProblem("day_of_week", "must be 0 (Sunday) to 6")) }
        if let time = m.startTime, !CarePlan.isClockTime(time) { problems.append(RecordProblem("start_time", "must be a time as HH:MM")) }
        if let minutes = m.durationMinutes, !(1...1_440).contains(minutes) { problems.append(RecordProblem("duration_minutes", "must be from 1 to 1440")) }
        CarePlan.text(m.location, "location", max: 200, required: false, into: &problems)
        if !problems.isEmpty { throw RecordFailure.invalid(problems) }
        return try await appliance.database.pool.write { db in
            let id = RowID.make()
            try db.execute(sql: """
                INSERT INTO meetings (id, facility_id, name, kind, day_of_week, start_time, duration_minutes, location) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, facilityID, m.name!.trimmingCharacters(in: .whitespacesAndNewlines), m.kind, m.dayOfWeek, m.startTime,
                                 m.durationMinutes, m.location])
            try appliance.audit.append(FacilityDirectory(appliance: appliance).event("facility.meeting_add", identity, facilityID, origin,
                                                                                     details: ["meeting": id]), in: db)
            return Self.meetingOutput(try Row.fetchOne(db, sql: "SELECT \(Self.meetingSelection) FROM meetings WHERE id = ?", arguments: [id])!)
        }
    }

    // MARK: Recovery settings

    public func recoverySettings(_ identity: Identity, facilityID: String, origin: RequestOrigin) async throws -> RecoverySettings {
        try await readable(identity, facilityID, origin, action: "facility.recovery_settings.read")
        return try await appliance.database.read { db in
            return try RecoverySettings.load(facilityID: facilityID, in: db)
        }
    }

    public func updateRecoverySettings(_ identity: Identity, facilityID: String, _ change: SettingsChange, origin: RequestOrigin) async throws -> RecoverySettings {
        try await writable(identity, facilityID, origin, action: "facility.update")
        var problems: [RecordProblem] = []
        if let v = change.lowMoodThreshold, !RecoverySettings.moodRange.contains(v) { problems.append(RecordProblem("low_mood_threshold", "must be from 1 to 10")) }
        if let v = change.highCravingThreshold, !RecoverySettings.cravingRange.contains(v) { problems.append(RecordProblem("high_craving_threshold", "must be from 1 to 10")) }
        if let v = change.silenceDays, !RecoverySettings.silenceRange.contains(v) { problems.append(RecordProblem("silence_days", "must be from 1 to 30")) }
        if let v = change.riskFlagThreshold, !RecoverySettings.riskThresholdRange.contains(v) {
            problems.append(RecordProblem("risk_flag_threshold", "must be from 1 to 100"))
        }
        if !problems.isEmpty { throw RecordFailure.invalid(problems) }
        return try await appliance.database.pool.write { db in
            var settings = try RecoverySettings.load(facilityID: facilityID, in: db)
            if let v = change.multipleCheckInsPerDay { settings.multipleCheckInsPerDay = v }
            if let v = change.lowMoodThreshold { settings.lowMoodThreshold = v }
            if let v = change.highCravingThreshold { settings.highCravingThreshold = v }
            if let v = change.silenceDays { settings.silenceDays = v }
            if let v = change.riskFlagThreshold { settings.riskFlagThreshold = v }
            try settings.save(facilityID: facilityID, by: identity.subjectID, in: db)
            try appliance.audit.append(FacilityDirectory(appliance: appliance).event("facility.recovery_settings", identity, facilityID, origin), in: db)
            return settings
        }
    }
}

/// Meetings: the kinds a meeting or an attendance may have.
public enum Meeting {
    public static let kinds = ["aa", "na", "smart", "facility_group", "other"]
}
