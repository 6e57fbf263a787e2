import Foundation
import GRDB

/// The records the care team keeps and the patient app only reads:
/// medications (name encrypted, dose, schedule, adherence) and goals, plus
/// the sobriety milestones computed from the sobriety date.
public enum CarePlanRecords {
    public static let medicationStatuses = ["active", "paused", "discontinued", "completed"]
    public static let goalStatuses = ["active", "completed", "paused", "cancelled"]
    /// Sobriety milestones, in days.
    public static let milestoneDays = [1, 7, 30, 60, 90, 180, 365]

    // MARK: Medications

    static let medicationSelection = "id, name_enc, dose, route, schedule, starts_on, ends_on, status, created_at, updated_at"

    static func medicationOutput(_ row: Row, cipher: FieldCipher, today: String, in db: Database) throws -> JSONValue {
        let id: String = row["id"]
        let times = scheduleTimes(row["schedule"])
        return .object([
            "id": .string(id),
            "name": .string(try cipher.openString(row["name_enc"], field: .patientMedicationsName, rowID: id)),
            "dose": (row["dose"] as String?).map(JSONValue.string) ?? .null,
            "route": (row["route"] as String?).map(JSONValue.string) ?? .null,
            "schedule": .object(["times": .array(times.map(JSONValue.string))]),
            "starts_on": (row["starts_on"] as String?).map(JSONValue.string) ?? .null,
            "ends_on": (row["ends_on"] as String?).map(JSONValue.string) ?? .null,
            "status": .string(row["status"]),
            "adherence_7d": try adherence(id, times: times, row: row, days: 7, today: today, in: db).map(JSONValue.number) ?? .null,
            "adherence_30d": try adherence(id, times: times, row: row, days: 30, today: today, in: db).map(JSONValue.number) ?? .null,
            "updated_at": .string(row["updated_at"]),
        ])
    }

    static func scheduleTimes(_ json: String?) -> [String] {
        guard let json, case .object(let schedule)? = try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)),
              case .array(let times)? = schedule["times"] else { return [] }
        return times.compactMap { if case .string(let time) = $0 { return time } else { return nil } }
    }

    /// Doses taken (on time or late) over doses scheduled in the last `days`
    /// days up to today (UTC dates), counting only days the medication was
    /// prescribed; nil for an as-needed medication or before its first day.
    static func adherence(_ medicationID: String, times: [String], row: Row, days: Int, today: String, in db: Database) throws -> Double? {
        guard !times.isEmpty, let todayNumber = CalendarDate.julianDay(today) else { return nil }
        let created = String((row["created_at"] as String).prefix(10))
        var first = todayNumber - days + 1
        for start in [row["starts_on"] as String?, created].compactMap({ $0 }) {
            if let number = CalendarDate.julianDay(start) { first = max(first, number) }
        }
        var last = todayNumber
        if let ends = row["ends_on"] as String?, let number = CalendarDate.julianDay(ends) { last = min(last, number) }
        guard last >= first else { return nil }
        let expected = (last - first + 1) * times.count
        let from = CalendarDate.string(julianDay: first), through = CalendarDate.string(julianDay: last)
        let taken = try Int.fetchOne(db.cachedStatement(sql: """
            SELECT count(*) FROM medication_doses WHERE medication_id = ? AND deleted_at IS NULL AND status IN ('taken', 'late')
              AND substr(coalesce(scheduled_for, taken_at), 1, 10) BETWEEN ? AND ?
            """), arguments: [medicationID, from, through]) ?? 0
        return (min(1, Double(taken) / Double(expected)) * 100).rounded() / 100
    }

    static func medications(patientID: String, facilityID: String, cipher: FieldCipher, in db: Database) throws -> [JSONValue] {
        let today = CalendarDate.today(in: "UTC")
        return try Row.fetchAll(db.cachedStatement(sql: """
            SELECT \(medicationSelection) FROM patient_medications
            WHERE facility_id = ? AND patient_id = ? AND deleted_at IS NULL ORDER BY created_at, id
            """), arguments: [facilityID, patientID]).map { try medicationOutput($0, cipher: cipher, today: today, in: db) }
    }

    static func medication(_ id: String, cipher: FieldCipher, in db: Database) throws -> JSONValue? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT \(medicationSelection) FROM patient_medications WHERE id = ?"),
                                         arguments: [id]) else { return nil }
        return try medicationOutput(row, cipher: cipher, today: CalendarDate.today(in: "UTC"), in: db)
    }

    // MARK: Goals

    static let goalSelection = "id, title_enc, description_enc, category, target_date, status, progress_percent, completed_at, updated_at"

    static func goalOutput(_ row: Row, cipher: FieldCipher) throws -> JSONValue {
        let id: String = row["id"]
        return .object([
            "id": .string(id),
            "title": .string(try cipher.openString(row["title_enc"], field: .patientGoalsTitle, rowID: id)),
            "description": try cipher.openString(optional: row["description_enc"], field: .patientGoalsDescription, rowID: id)
                .map(JSONValue.string) ?? .null,
            "category": (row["category"] as String?).map(JSONValue.string) ?? .null,
            "target_date": (row["target_date"] as String?).map(JSONValue.string) ?? .null,
            "status": .string(row["status"]),
            "progress_percent": .integer(row["progress_percent"]),
            "completed_at": (row["completed_at"] as String?).map(JSONValue.string) ?? .null,
            "updated_at": .string(row["updated_at"]),
        ])
    }

    static func goals(patientID: String, facilityID: String, cipher: FieldCipher, in db: Database) throws -> [JSONValue] {
        try Row.fetchAll(db.cachedStatement(sql: """
            SELECT \(goalSelection) FROM patient_goals WHERE facility_id = ? AND patient_id = ? AND deleted_at IS NULL ORDER BY created_at, id
            """), arguments: [facilityID, patientID]).map { try goalOutput($0, cipher: cipher) }
    }

    static func goal(_ id: String, cipher: FieldCipher, in db: Database) throws -> JSONValue? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(goalSelection) FROM patient_goals WHERE id = ?"), arguments: [id])
            .map { try goalOutput($0, cipher: cipher) }
    }

    /// A goal's progress is that of its latest live progress update (0
    /// without any); reaching 100 % completes an active goal.
    static func refreshProgress(goalID: String, now: String, in db: Database) throws {
        let percent = try Int.fetchOne(db.cachedStatement(sql: """
            SELECT progress_percent FROM goal_progress WHERE goal_id = ? AND deleted_at IS NULL
            ORDER BY recorded_at DESC, created_at DESC, id DESC LIMIT 1
            """), arguments: [goalID]) ?? 0
        try db.cachedStatement(sql: """
            UPDATE patient_goals SET progress_percent = ?, updated_at = ?,
                status = CASE WHEN ? = 100 AND status = 'active' THEN 'completed' ELSE status END,
                completed_at = CASE WHEN ? = 100 AND status = 'active' THEN ? ELSE completed_at END
            WHERE id = ?
            """).execute(arguments: [percent, now, percent, percent, now, goalID])
    }

    /// The sobriety milestones with the date each falls on and whether it is reached.
    public static func milestones(sobrietyDate: String?, today: String) -> [JSONValue] {
        guard let sobrietyDate, let start = CalendarDate.julianDay(sobrietyDate), let now = CalendarDate.julianDay(today) else { return [] }
        return milestoneDays.map { days in
            .object(["days": .integer(days), "date": .string(CalendarDate.string(julianDay: start + days)), "reached": .bool(now - start >= days)])
        }
    }

    /// Goals, milestones and days sober, as `/me/goals` and `/patients/{id}/goals` answer them.
    static func goalsView(patientID: String, facilityID: String, cipher: FieldCipher, in db: Database) throws -> JSONValue {
        let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT p.sobriety_date, f.timezone FROM patients p JOIN facilities f ON f.id = p.facility_id WHERE p.id = ?
            """), arguments: [patientID])
        let sobriety: String? = row?["sobriety_date"]
        let today = CalendarDate.today(in: row?["timezone"] ?? "UTC")
        return .object([
            "data": .array(try goals(patientID: patientID, facilityID: facilityID, cipher: cipher, in: db)),
            "milestones": .array(milestones(sobrietyDate: sobriety, today: today)),
            "days_sober": sobriety.flatMap { CalendarDate.days(from: $0, to: today) }.map(JSONValue.integer) ?? .null,
        ])
    }
}
