import Foundation

/// The relapse-risk score: a transparent logistic model. Each signal the
/// literature links to a lapse is turned into a value on a fixed scale,
/// multiplied by its weight (log-odds), and the sum with the intercept gives
/// the probability; the score is that probability times 100. Every factor is
/// kept with its value, weight and contribution, so staff see why a score
/// is what it is. The weights are the appliance's own, set by hand from the
/// importance the studies report (see MODEL_CARD.md), not fitted to any data.
/// A score informs the care team; it never triggers an action by itself.
public enum RiskModel {
    public static let version = "risk-logistic-1"
    public static let intercept = -3.5

    public struct Signal: Sendable {
        public let code: String
        public let weight: Double
        /// What the value measures, for the API and the model card.
        public let meaning: String
    }

    /// The signals, in the order factors are listed.
    public static let signals: [Signal] = [
        Signal(code: "reported_use_14d", weight: 1.6, meaning: "any reported use or craving acted on in the last 14 days (0 or 1)"),
        Signal(code: "prior_lapses_90d", weight: 0.35, meaning: "lapses 15 to 90 days ago, counted up to 3"),
        Signal(code: "low_confidence_7d", weight: 1.2, meaning: "10 minus mean confidence (self-efficacy) in 7 days' check-ins, over 10"),
        Signal(code: "craving_intensity_7d", weight: 1.4, meaning: "mean craving rating (check-ins and logged cravings) in 7 days, over 10"),
        Signal(code: "craving_frequency_7d", weight: 0.4, meaning: "cravings logged per day in 7 days, up to 2"),
        Signal(code: "stress_7d", weight: 0.7, meaning: "mean stress in 7 days' check-ins, over 10"),
        Signal(code: "negative_mood_7d", weight: 0.9, meaning: "10 minus mean mood in 7 days' check-ins, over 9"),
        Signal(code: "missed_check_ins_7d", weight: 0.6, meaning: "share of the last 7 days without a check-in"),
        Signal(code: "halt_7d", weight: 0.6, meaning: "mean share of HALT items reported per check-in in 7 days"),
        Signal(code: "short_sleep_7d", weight: 0.4, meaning: "share of 7 days' check-ins with under 6 hours of sleep"),
        Signal(code: "meeting_drop_off", weight: 0.5, meaning: "drop in meetings, last 14 days against the 14 before, as a share of those"),
        Signal(code: "medication_nonadherence_14d", weight: 0.7, meaning: "share of scheduled doses skipped in 14 days"),
        Signal(code: "transition_period", weight: 0.4, meaning: "admitted in the last 30 days or discharged in the last 90 (0 or 1)"),
    ]

    public static func weight(_ code: String) -> Double { signals.first { $0.code == code }!.weight }

    public struct Factor: Sendable, Equatable {
        public var code: String
        /// nil when the records hold nothing to measure it (no check-ins, no
        /// doses): such a factor contributes nothing.
        public var value: Double?
        public var weight: Double
        public var contribution: Double { (value ?? 0) * weight }

        public var json: JSONValue {
            .object(["factor": .string(code), "value": value.map { .number(round4($0)) } ?? .null, "weight": .number(weight),
                     "contribution": .number(round4(contribution))])
        }
    }

    public struct Score: Sendable, Equatable {
        public var score: Double
        public var level: String
        public var factors: [Factor]
    }

    static func round4(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }

    public static func level(_ score: Double) -> String {
        score < 25 ? "low" : score < 50 ? "moderate" : score < 75 ? "high" : "critical"
    }

    /// The score for given signal values (nil = not measured).
    public static func score(_ values: [String: Double?]) -> Score {
        let factors = signals.map { Factor(code: $0.code, value: values[$0.code] ?? nil, weight: $0.weight) }
        let logit = intercept + factors.reduce(0) { $0 + (($1.value).map(round4) ?? 0) * $1.weight }
        let score = (100 / (1 + exp(-logit)) * 10).rounded() / 10
        return Score(score: score, level: level(score), factors: factors)
    }

    /// The signal values of a patient's recent records.
    public static func signals(of a: PatientActivity) -> [String: Double?] {
        let today = a.today
        func inDays(_ day: Int, _ days: Int) -> Bool { day > today - days && day <= today }
        let week = a.checkIns.filter { inDays($0.day, 7) }
        func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
        let recentUse = a.checkIns.contains { inDays($0.day, 14) && $0.usedSinceLast } || a.cravings.contains { inDays($0.day, 14) && $0.actedOn }
        let priorLapses = a.checkIns.filter { inDays($0.day, 90) && !inDays($0.day, 14) && $0.usedSinceLast }.count
            + a.cravings.filter { inDays($0.day, 90) && !inDays($0.day, 14) && $0.actedOn }.count
        let weekCravings = a.cravings.filter { inDays($0.day, 7) }
        let cravingRatings = week.compactMap(\.craving).map(Double.init) + weekCravings.map { Double($0.intensity) }
        let checkInDays = Set(week.map(\.day)).count
        let sleep = week.compactMap(\.sleepHours)
        let lastMeetings = a.meetings.filter { inDays($0, 14) }.count
        let earlierMeetings = a.meetings.filter { inDays($0, 28) && !inDays($0, 14) }.count
        let doses = a.doses.filter { inDays($0.day, 14) }
        let admittedRecently = a.admissionDay.map { today - $0 >= 0 && today - $0 < 30 } ?? false
        let dischargedRecently = a.dischargeDay.map { today - $0 >= 0 && today - $0 < 90 } ?? false
        return [
            "reported_use_14d": recentUse ? 1 : 0,
            "prior_lapses_90d": Double(min(priorLapses, 3)),
            "low_confidence_7d": mean(week.compactMap(\.confidence).map(Double.init)).map { (10 - $0) / 10 },
            "craving_intensity_7d": mean(cravingRatings).map { $0 / 10 },
            "craving_frequency_7d": min(Double(weekCravings.count) / 7, 2),
            "stress_7d": mean(week.compactMap(\.stress).map(Double.init)).map { $0 / 10 },
            "negative_mood_7d": mean(week.map { Double($0.mood) }).map { (10 - $0) / 9 },
            "missed_check_ins_7d": Double(7 - checkInDays) / 7,
            "halt_7d": mean(week.map { Double($0.halt.filter { $0 }.count) / 4 }),
            "short_sleep_7d": sleep.isEmpty ? nil : Double(sleep.filter { $0 < 6 }.count) / Double(sleep.count),
            "meeting_drop_off": earlierMeetings == 0 ? 0 : Double(max(0, earlierMeetings - lastMeetings)) / Double(earlierMeetings),
            "medication_nonadherence_14d": doses.isEmpty ? nil : Double(doses.filter { !$0.taken }.count) / Double(doses.count),
            "transition_period": admittedRecently || dischargedRecently ? 1 : 0,
        ]
    }

    public static func score(_ activity: PatientActivity) -> Score {
        score(signals(of: activity))
    }
}
