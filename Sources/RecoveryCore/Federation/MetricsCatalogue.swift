import GRDB

/// What a clinic reports to central, per facility per ISO week: aggregates
/// only, never a record. Version 1: census and movement, engagement, cravings
/// and lapses, crisis alerts. Version 2 adds mood, meeting attendance,
/// medication adherence, time to acknowledge a crisis alert, high-risk
/// patients, staff caseloads and age bands. Version 3 has version 2's cells
/// and adds the period kind: a payload may report one day of the current week
/// (`{start, end, day}`) as well as a week. Each payload names its version;
/// central accepts every version listed here and refuses others.
public enum MetricsCatalogue {
    public static let schemaVersion = 3
    public static let knownVersions: Set<Int> = [1, 2, 3]
    /// The first version whose payloads may report a day.
    public static let firstVersionWithDays = 3

    public enum Kind: Sendable { case count, rate, mean, minutes }

    public struct Metric: Sendable {
        public let name: String
        public let kind: Kind
    }

    /// Cells that add up to a total cell of the same payload (complementary suppression keeps them apart).
    public struct Distribution: Sendable {
        public let buckets: [String]
        public let total: String
    }

    static let version1: [Metric] = [
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

    /// Mood of each patient-day with a check-in (its latest check-in): adds up to `check_ins`.
    public static let moodBands: [(name: String, moods: ClosedRange<Int>)] = [
        ("mood_1_3", 1...3), ("mood_4_6", 4...6), ("mood_7_10", 7...10),
    ]
    /// Age at the end of the week of the patients in care, 90 and over top-coded: adds up to `census`.
    public static let ageBands: [(name: String, ages: ClosedRange<Int>)] = [
        ("age_under_18", 0...17), ("age_18_25", 18...25), ("age_26_34", 26...34), ("age_35_44", 35...44),
        ("age_45_54", 45...54), ("age_55_64", 55...64), ("age_65_89", 65...89), ("age_90_plus", 90...Int.max),
    ]
    /// Staff by the number of patients in care on their care team at the end of the week: adds up to `staff_with_caseload`.
    public static let caseloadBands: [(name: String, patients: ClosedRange<Int>)] = [
        ("caseload_1_10", 1...10), ("caseload_11_20", 11...20), ("caseload_21_30", 21...30), ("caseload_31_plus", 31...Int.max),
    ]

    static let version2: [Metric] = version1
        + moodBands.map { Metric(name: $0.name, kind: .count) }
        + [
            Metric(name: "meeting_attendance_rate", kind: .rate),      // patients in care who attended a meeting, percent
            Metric(name: "medication_adherence_rate", kind: .rate),    // scheduled doses taken (or late) / scheduled doses logged, percent
            Metric(name: "crisis_ack_median_minutes", kind: .minutes), // of the alerts raised in the week and acknowledged
            Metric(name: "high_risk_patients", kind: .count),          // in care, latest risk level high or critical, or an unresolved risk flag
            Metric(name: "staff_with_caseload", kind: .count),
        ]
        + caseloadBands.map { Metric(name: $0.name, kind: .count) }
        + ageBands.map { Metric(name: $0.name, kind: .count) }

    public static let distributions: [Distribution] = [
        Distribution(buckets: moodBands.map(\.name), total: "check_ins"),
        Distribution(buckets: ageBands.map(\.name), total: "census"),
        Distribution(buckets: caseloadBands.map(\.name), total: "staff_with_caseload"),
    ]

    /// The metrics of a version, in the order cells are sent; empty for an unknown version.
    public static func metrics(version: Int) -> [Metric] {
        switch version {
        case 1: return version1
        case 2, 3: return version2
        default: return []
        }
    }

    /// The current version's metrics.
    public static var metrics: [Metric] { metrics(version: schemaVersion) }

    public static let names: Set<String> = Set(version2.map(\.name))

    public static func kind(of name: String) -> Kind? { version2.first { $0.name == name }?.kind }

    /// The exact figures of one facility's week, before suppression.
    public struct Figures: Sendable, Equatable {
        public var counts: [String: Int] = [:]
        /// The census at the end of the period before: the opening figure of the
        /// balance with admissions and discharges (sent as the period before's census, not with this one).
        public var openingCensus = 0
        /// Patients in care at some point of the week, and their days in care:
        /// the rates' denominators (not sent themselves).
        public var patientsInCare = 0
        public var daysInCare = 0
        public var intensitySum = 0
        /// Patients in care who attended at least one meeting in the week.
        public var meetingAttendees = 0
        /// Doses scheduled in the week and logged, and of those taken (on time or late).
        public var dosesScheduled = 0
        public var dosesTaken = 0
        /// Minutes from raising to acknowledging each alert raised in the week and acknowledged.
        public var acknowledgeMinutes: [Double] = []

        public init() {}
    }
}
