import Foundation
import GRDB

/// A patient's recent records as the analytics read them: numbers, codes and
/// times only, each placed on the facility's calendar (its time zone), so an
/// hour or a weekday means the clinic's hour and weekday. Days are Julian day
/// numbers (`CalendarDate`), which makes windows simple arithmetic.
public struct PatientActivity: Sendable, Equatable {
    public struct CheckIn: Sendable, Equatable {
        public var day: Int
        public var mood: Int
        public var craving: Int?
        public var stress: Int?
        public var confidence: Int?
        public var usedSinceLast: Bool
        /// Hungry, angry, lonely, tired.
        public var halt: [Bool]
        public var sleepHours: Double?

        public init(day: Int, mood: Int, craving: Int? = nil, stress: Int? = nil, confidence: Int? = nil, usedSinceLast: Bool = false,
                    halt: [Bool] = [false, false, false, false], sleepHours: Double? = nil) {
            self.day = day; self.mood = mood; self.craving = craving; self.stress = stress; self.confidence = confidence
            self.usedSinceLast = usedSinceLast; self.halt = halt; self.sleepHours = sleepHours
        }
    }

    public struct Craving: Sendable, Equatable {
        public var day: Int
        /// 0-23, facility time.
        public var hour: Int
        public var intensity: Int
        public var triggers: [String]
        public var actedOn: Bool

        public init(day: Int, hour: Int, intensity: Int, triggers: [String] = [], actedOn: Bool = false) {
            self.day = day; self.hour = hour; self.intensity = intensity; self.triggers = triggers; self.actedOn = actedOn
        }
    }

    public struct Dose: Sendable, Equatable {
        public var day: Int
        /// Taken on time or late.
        public var taken: Bool
        public var late: Bool

        public init(day: Int, taken: Bool, late: Bool = false) {
            self.day = day; self.taken = taken; self.late = late
        }
    }

    /// The facility's today, as a Julian day.
    public var today: Int
    public var checkIns: [CheckIn] = []
    public var cravings: [Craving] = []
    /// Days of meetings attended.
    public var meetings: [Int] = []
    /// Scheduled doses (as-needed doses have no schedule to keep).
    public var doses: [Dose] = []
    /// Trigger code → the facility's label.
    public var triggerLabels: [String: String] = [:]
    public var admissionDay: Int?
    public var dischargeDay: Int?

    public init(today: Int) {
        self.today = today
    }

    /// How many days of records the analytics look back: the longest window
    /// any insight or risk signal uses (prior lapses, 90 days).
    public static let lookBackDays = 90

    /// Reads the patient's live records of the `lookBackDays` days up to
    /// today, the facility's date at `now`, or the day `asOf` (a report's last
    /// day; records after it are left out).
    public static func load(facilityID: String, patientID: String, now: Date = Date(), asOf: Int? = nil, in db: Database) throws -> PatientActivity {
        let zoneName = try String.fetchOne(db.cachedStatement(sql: "SELECT timezone FROM facilities WHERE id = ?"), arguments: [facilityID]) ?? "UTC"
        let clock = FacilityClock(timeZone: zoneName)
        let today = asOf ?? clock.day(of: now)
        var activity = PatientActivity(today: today)
        let firstDay = today - lookBackDays + 1
        let fromDate = CalendarDate.string(julianDay: firstDay)
        // A day in a zone west of UTC starts up to 14 hours after UTC's: read from a day earlier, then keep what falls in the window.
        let fromTime = CalendarDate.string(julianDay: firstDay - 1) + "T00:00:00.000Z"
        let key: StatementArguments = [facilityID, patientID]
        for row in try Row.fetchAll(db.cachedStatement(sql: """
            SELECT local_date, mood, craving, stress, confidence, used_since_last, halt_hungry, halt_angry, halt_lonely, halt_tired, sleep_hours
            FROM patient_check_ins WHERE facility_id = ? AND patient_id = ? AND deleted_at IS NULL AND local_date >= ?
            ORDER BY local_date, checked_in_at
            """), arguments: key + [fromDate]) {
            guard let day = CalendarDate.julianDay(row[0]), day <= today else { continue }
            activity.checkIns.append(CheckIn(day: day, mood: row[1], craving: row[2], stress: row[3], confidence: row[4], usedSinceLast: row[5],
                                             halt: [row[6], row[7], row[8], row[9]], sleepHours: row[10]))
        }
        for row in try Row.fetchAll(db.cachedStatement(sql: """
            SELECT occurred_at, intensity, triggers, acted_on FROM patient_cravings
            WHERE facility_id = ? AND patient_id = ? AND deleted_at IS NULL AND occurred_at >= ? ORDER BY occurred_at
            """), arguments: key + [fromTime]) {
            guard let time = Timestamp.parse(row[0]) else { continue }
            let (day, hour) = clock.dayAndHour(of: time)
            guard day >= firstDay, day <= today else { continue }
            activity.cravings.append(Craving(day: day, hour: hour, intensity: row[1], triggers: Self.codes(row[2]), actedOn: row[3]))
        }
        for row in try Row.fetchAll(db.cachedStatement(sql: """
            SELECT attended_at FROM meeting_attendance WHERE facility_id = ? AND patient_id = ? AND deleted_at IS NULL AND attended_at >= ?
            """), arguments: key + [fromTime]) {
            guard let time = Timestamp.parse(row[0]) else { continue }
            let day = clock.day(of: time)
            if day >= firstDay, day <= today { activity.meetings.append(day) }
        }
        for row in try Row.fetchAll(db.cachedStatement(sql: """
            SELECT scheduled_for, status FROM medication_doses
            WHERE facility_id = ? AND patient_id = ? AND deleted_at IS NULL AND scheduled_for IS NOT NULL AND scheduled_for >= ?
            """), arguments: key + [fromTime]) {
            guard let time = Timestamp.parse(row[0]) else { continue }
            let day = clock.day(of: time)
            let status: String = row[1]
            if day >= firstDay, day <= today { activity.doses.append(Dose(day: day, taken: status != "skipped", late: status == "late")) }
        }
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT code, label FROM facility_triggers WHERE facility_id = ?"), arguments: [facilityID]) {
            activity.triggerLabels[row[0]] = row[1]
        }
        if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT admission_date, discharge_date FROM patients WHERE facility_id = ? AND id = ?"),
                                      arguments: key) {
            activity.admissionDay = (row[0] as String?).flatMap(CalendarDate.julianDay)
            activity.dischargeDay = (row[1] as String?).flatMap(CalendarDate.julianDay)
        }
        return activity
    }

    static func codes(_ json: String) -> [String] {
        guard case .array(let values)? = try? JSONParser.parse(json.utf8) else { return [] }
        return values.compactMap { if case .string(let code) = $0 { return code } else { return nil } }
    }
}

/// The facility's calendar: which local day and hour a UTC time falls on.
public struct FacilityClock: Sendable {
    let zone: TimeZone

    public init(timeZone: String) {
        zone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")!
    }

    func localSeconds(_ date: Date) -> Double {
        date.timeIntervalSince1970 + Double(zone.secondsFromGMT(for: date))
    }

    public func day(of date: Date) -> Int {
        Int((localSeconds(date) / 86_400).rounded(.down)) + 2_440_588
    }

    public func dayAndHour(of date: Date) -> (day: Int, hour: Int) {
        let seconds = localSeconds(date)
        let day = (seconds / 86_400).rounded(.down)
        return (Int(day) + 2_440_588, Int((seconds - day * 86_400) / 3_600))
    }

    /// ISO weekday of a Julian day: 1 = Monday ... 7 = Sunday.
    public static func weekday(_ day: Int) -> Int { day % 7 + 1 }
}
