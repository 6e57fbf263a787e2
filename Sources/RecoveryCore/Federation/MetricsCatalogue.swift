import GRDB

/// What a clinic reports to central, per facility per ISO week: aggregates
/// only, never a record. Schema version 1 is what the data holds today
/// (census and movement, engagement, cravings and lapses, crisis alerts);
/// each payload names its version and central refuses versions it does not know.
public enum MetricsCatalogue {
    public static let schemaVersion = 1
    public static let knownVersions: Set<Int> = [1]

    public enum Kind: Sendable { case count, rate, mean }

    public struct Metric: Sendable {
        public let name: String
        public let kind: Kind
    }

    /// Version 1, in the order cells are sent.
    public static let metrics: [Metric] = [
        Metric(name: "census", kind: .count),                      // in care at the end of the week
        Metric(name: "admissions", kind: .count),
        Metric(name: "discharges", kind: .count),
        Metric(name: "active_patients", kind: .count),             // logged a check-in or craving in the week
        Metric(name: "check_ins", kind: .count),                   // patient-days with a check-in
        Metric(name: "check_in_completion_rate", kind: .rate),     // check-in days / days in care, percent
        Metric(name: "cravings_logged", kind: .count),
        Metric(name: "craving_mean_intensity", kind: .mean),       // 1-10
        Metric(name: "lapses", kind: .count),                      // cravings acted on
        Metric(name: "crisis_alerts_raised", kind: .count),
        Metric(name: "crisis_alerts_acknowledged", kind: .count),  // of those raised in the week
    ]

    public static let names: Set<String> = Set(metrics.map(\.name))

    public static func kind(of name: String) -> Kind? { metrics.first { $0.name == name }?.kind }

    /// The exact figures of one facility's week, before suppression.
    public struct Figures: Sendable, Equatable {
        public var counts: [String: Int] = [:]
        /// Patients in care at some point of the week, and their days in care:
        /// the completion rate's denominators (not sent themselves).
        public var patientsInCare = 0
        public var daysInCare = 0
        public var intensitySum = 0

        public init() {}
    }

    /// Reads one facility's figures for `week` from the records (deleted records excluded).
    static func figures(facility: String, week: ISOWeek, in db: Database) throws -> Figures {
        let s = week.start, e = week.end
        let from = s + "T00:00:00.000Z", until = ISOWeek.day(ISOWeek.date(e)!.addingTimeInterval(86_400)) + "T00:00:00.000Z"
        func count(_ sql: String, _ arguments: StatementArguments) throws -> Int {
            try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0
        }
        var f = Figures()
        let live = "facility_id = ? AND deleted_at IS NULL"
        f.counts["census"] = try count("""
            SELECT count(*) FROM patients WHERE \(live) AND admission_date IS NOT NULL AND admission_date <= ?
              AND (discharge_date IS NULL OR discharge_date > ?)
            """, [facility, e, e])
        f.counts["admissions"] = try count("SELECT count(*) FROM patients WHERE \(live) AND admission_date BETWEEN ? AND ?", [facility, s, e])
        f.counts["discharges"] = try count("SELECT count(*) FROM patients WHERE \(live) AND discharge_date BETWEEN ? AND ?", [facility, s, e])
        f.counts["active_patients"] = try count("""
            SELECT count(*) FROM (
              SELECT patient_id FROM patient_check_ins WHERE \(live) AND local_date BETWEEN ? AND ?
              UNION
              SELECT patient_id FROM patient_cravings WHERE \(live) AND occurred_at >= ? AND occurred_at < ?)
            """, [facility, s, e, facility, from, until])
        f.counts["check_ins"] = try count("""
            SELECT count(*) FROM (SELECT DISTINCT patient_id, local_date FROM patient_check_ins
                                  WHERE \(live) AND local_date BETWEEN ? AND ?)
            """, [facility, s, e])
        // Days in care within the week: from max(admission, Monday) to min(day before discharge, Sunday).
        let stay = try Row.fetchOne(db, sql: """
            SELECT count(*) AS patients, coalesce(sum(days), 0) AS days FROM (
              SELECT CAST(julianday(min(?, coalesce(date(discharge_date, '-1 day'), ?))) - julianday(max(?, admission_date)) + 1 AS INTEGER) AS days
              FROM patients WHERE \(live) AND admission_date IS NOT NULL AND admission_date <= ?
                AND (discharge_date IS NULL OR discharge_date > ?))
            WHERE days > 0
            """, arguments: [e, e, s, facility, e, s])!
        f.patientsInCare = stay["patients"]
        f.daysInCare = stay["days"]
        let cravings = try Row.fetchOne(db, sql: """
            SELECT count(*) AS n, coalesce(sum(intensity), 0) AS total, coalesce(sum(acted_on), 0) AS lapses
            FROM patient_cravings WHERE \(live) AND occurred_at >= ? AND occurred_at < ?
            """, arguments: [facility, from, until])!
        f.counts["cravings_logged"] = cravings["n"] as Int
        f.intensitySum = cravings["total"]
        f.counts["lapses"] = cravings["lapses"] as Int
        let crisis = try Row.fetchOne(db, sql: """
            SELECT count(*) AS raised, count(acknowledged_at) AS acknowledged
            FROM crisis_alerts WHERE facility_id = ? AND created_at >= ? AND created_at < ?
            """, arguments: [facility, from, until])!
        f.counts["crisis_alerts_raised"] = crisis["raised"] as Int
        f.counts["crisis_alerts_acknowledged"] = crisis["acknowledged"] as Int
        return f
    }
}
