import Foundation

/// The figures staff see about one patient's recent weeks, each as numbers
/// and one plain sentence built only from those numbers: mood trend, when
/// cravings come, their triggers, check-in streaks and gaps, HALT, meeting
/// and medication adherence. Pure computation over `PatientActivity`, so the
/// same data always gives the same figures and words.
public struct PatientInsights: Sendable {
    public struct Insight: Sendable, Equatable {
        public var kind: String
        /// The window, as local dates (inclusive).
        public var from: String
        public var to: String
        public var values: [String: JSONValue]
        public var sentence: String

        public var json: JSONValue {
            .object(["kind": .string(kind), "from": .string(from), "to": .string(to), "values": .object(values), "sentence": .string(sentence)])
        }
    }

    /// The window of the patterns, streaks and adherence: the last 30 days.
    public static let windowDays = 30
    static let haltNames = ["hungry", "angry", "lonely", "tired"]
    static let weekdayNames = ["Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"]

    public let activity: PatientActivity

    public init(_ activity: PatientActivity) {
        self.activity = activity
    }

    public var all: [Insight] {
        [moodTrend, cravingPattern, topTriggers, checkInStreaks, haltFrequency, meetingAdherence, medicationAdherence]
    }

    var today: Int { activity.today }
    func first(_ days: Int) -> Int { today - days + 1 }
    func insight(_ kind: String, days: Int, _ values: [String: JSONValue], _ sentence: String) -> Insight {
        Insight(kind: kind, from: CalendarDate.string(julianDay: first(days)), to: CalendarDate.string(julianDay: today), values: values, sentence: sentence)
    }

    // MARK: Mood

    /// Least-squares slope of mood against the day, in points per day; nil
    /// with check-ins on fewer than two days.
    static func slope(_ points: [(day: Int, value: Double)]) -> Double? {
        guard Set(points.map(\.day)).count >= 2 else { return nil }
        let n = Double(points.count)
        let meanX = points.reduce(0) { $0 + Double($1.day) } / n, meanY = points.reduce(0) { $0 + $1.value } / n
        var sxy = 0.0, sxx = 0.0
        for p in points { sxy += (Double(p.day) - meanX) * (p.value - meanY); sxx += (Double(p.day) - meanX) * (Double(p.day) - meanX) }
        return sxy / sxx
    }

    static func rounded(_ value: Double, _ places: Int = 2) -> Double {
        let scale = pow(10.0, Double(places))
        return (value * scale).rounded() / scale
    }

    static func number(_ value: Double?, _ places: Int = 2) -> JSONValue {
        value.map { .number(rounded($0, places)) } ?? .null
    }

    /// "+0.25" / "-0.10": a slope as shown in sentences.
    static func signed(_ value: Double) -> String {
        let r = rounded(value)
        return (r >= 0 ? "+" : "") + String(format: "%.2f", r)
    }

    static func direction(_ slope: Double) -> String {
        let r = rounded(slope)
        return r >= 0.05 ? "rising" : r <= -0.05 ? "falling" : "steady"
    }

    public var moodTrend: Insight {
        func window(_ days: Int) -> (slope: Double?, mean: Double?, count: Int) {
            let points = activity.checkIns.filter { $0.day >= first(days) && $0.day <= today }.map { (day: $0.day, value: Double($0.mood)) }
            return (Self.slope(points), points.isEmpty ? nil : points.reduce(0) { $0 + $1.value } / Double(points.count), points.count)
        }
        let week = window(7), month = window(30)
        let values: [String: JSONValue] = [
            "slope_7d": Self.number(week.slope), "slope_30d": Self.number(month.slope),
            "mean_7d": Self.number(week.mean, 1), "mean_30d": Self.number(month.mean, 1),
            "check_ins_7d": .integer(week.count), "check_ins_30d": .integer(month.count),
        ]
        let sentence: String
        switch (week.slope, month.slope) {
        case (nil, nil):
            sentence = "Too few check-ins in the last 30 days to show a mood trend (\(month.count))."
        case (let w?, let m?):
            sentence = "Mood is \(Self.direction(w)) over the last 7 days (\(Self.signed(w)) a day, average \(String(format: "%.1f", Self.rounded(week.mean!, 1))) from \(week.count) check-ins) and \(Self.direction(m)) over the last 30 days (\(Self.signed(m)) a day, average \(String(format: "%.1f", Self.rounded(month.mean!, 1))) from \(month.count))."
        case (nil, let m?):
            sentence = "Mood is \(Self.direction(m)) over the last 30 days (\(Self.signed(m)) a day, average \(String(format: "%.1f", Self.rounded(month.mean!, 1))) from \(month.count) check-ins); too few check-ins in the last 7 days to show a trend."
        case (_?, nil):
            sentence = "Too few check-ins to show a mood trend."   // unreachable: 7 days lie within 30
        }
        return insight("mood_trend", days: 30, values, sentence)
    }

    // MARK: Cravings

    var windowCravings: [PatientActivity.Craving] {
        activity.cravings.filter { $0.day >= first(Self.windowDays) && $0.day <= today }
    }

    /// When cravings are logged: counts by hour and by weekday, and the
    /// three-hour block and kind of day (weekdays, weekends) with the most.
    public var cravingPattern: Insight {
        let cravings = windowCravings
        var byHour = [Int](repeating: 0, count: 24), byWeekday = [Int](repeating: 0, count: 7)
        var cells = [Int](repeating: 0, count: 16)   // block * 2 + (weekend ? 1 : 0)
        for c in cravings {
            let weekday = FacilityClock.weekday(c.day)
            byHour[c.hour] += 1
            byWeekday[weekday - 1] += 1
            cells[c.hour / 3 * 2 + (weekday >= 6 ? 1 : 0)] += 1
        }
        var values: [String: JSONValue] = [
            "cravings": .integer(cravings.count),
            "by_hour": .array(byHour.map(JSONValue.integer)),
            "by_weekday": .array(byWeekday.map(JSONValue.integer)),
            "mean_intensity": Self.number(cravings.isEmpty ? nil : Double(cravings.reduce(0) { $0 + $1.intensity }) / Double(cravings.count), 1),
        ]
        guard !cravings.isEmpty else {
            values["peak_block"] = .null; values["peak_days"] = .null; values["peak_count"] = .integer(0); values["peak_weekday"] = .null
            return insight("craving_pattern", days: Self.windowDays, values, "No cravings were logged in the last 30 days.")
        }
        // First of the largest: earlier blocks and weekdays win ties, so the answer is stable.
        let peak = cells.indices.max { cells[$0] < cells[$1] || (cells[$0] == cells[$1] && $0 > $1) }!
        let start = peak / 2 * 3, days = peak % 2 == 0 ? "weekdays" : "weekends"
        let busiest = byWeekday.indices.max { byWeekday[$0] < byWeekday[$1] || (byWeekday[$0] == byWeekday[$1] && $0 > $1) }!
        let block = String(format: "%02d:00-%02d:00", start, start + 3)
        values["peak_block"] = .string(block)
        values["peak_days"] = .string(days)
        values["peak_count"] = .integer(cells[peak])
        values["peak_weekday"] = .integer(busiest + 1)
        let sentence = "Cravings were logged most often between \(String(format: "%02d:00", start)) and \(String(format: "%02d:00", start + 3)) on \(days) (\(cells[peak]) of \(cravings.count)); \(Self.weekdayNames[busiest]) had the most (\(byWeekday[busiest]))."
        return insight("craving_pattern", days: Self.windowDays, values, sentence)
    }

    /// The triggers named most often with the cravings, and how many were acted on.
    public var topTriggers: Insight {
        let cravings = windowCravings
        var counts: [String: Int] = [:]
        for c in cravings { for code in Set(c.triggers) { counts[code, default: 0] += 1 } }
        let top = counts.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.prefix(3)
        let actedOn = cravings.filter(\.actedOn).count
        let values: [String: JSONValue] = [
            "cravings": .integer(cravings.count), "acted_on": .integer(actedOn),
            "top": .array(top.map { .object(["code": .string($0.key), "label": .string(activity.triggerLabels[$0.key] ?? $0.key), "count": .integer($0.value)]) }),
        ]
        let sentence: String
        if cravings.isEmpty {
            sentence = "No cravings were logged in the last 30 days."
        } else if top.isEmpty {
            sentence = "No triggers were named with the \(cravings.count) cravings of the last 30 days; \(actedOn) \(actedOn == 1 ? "was" : "were") acted on."
        } else {
            let named = top.map { "\((activity.triggerLabels[$0.key] ?? $0.key).lowercased()) (\($0.value))" }
            sentence = "The triggers named most often were \(Self.list(named)), across \(cravings.count) cravings; \(actedOn) \(actedOn == 1 ? "was" : "were") acted on."
        }
        return insight("top_triggers", days: Self.windowDays, values, sentence)
    }

    /// "a", "a and b", "a, b and c".
    static func list(_ items: [String]) -> String {
        items.count <= 1 ? items.joined() : items.dropLast().joined(separator: ", ") + " and " + items.last!
    }

    // MARK: Check-ins

    /// Days with a check-in, the current and longest streaks, and the longest
    /// run of days without one, in the window. The current streak counts up
    /// to today, or to yesterday while today has no check-in yet.
    public var checkInStreaks: Insight {
        let start = first(Self.windowDays)
        let days = Set(activity.checkIns.map(\.day).filter { $0 >= start && $0 <= today })
        var longest = 0, run = 0, longestGap = 0, gap = 0
        for day in start...today {
            if days.contains(day) { run += 1; gap = 0 } else { gap += 1; run = 0 }
            longest = max(longest, run); longestGap = max(longestGap, gap)
        }
        var current = 0
        var day = days.contains(today) ? today : today - 1
        while days.contains(day) { current += 1; day -= 1 }
        let last = activity.checkIns.map(\.day).filter { $0 <= today }.max()
        let values: [String: JSONValue] = [
            "days_checked_in": .integer(days.count), "window_days": .integer(Self.windowDays),
            "current_streak": .integer(current), "longest_streak": .integer(longest), "longest_gap": .integer(longestGap),
            "days_since_last": last.map { .integer(today - $0) } ?? .null,
        ]
        let sentence = days.isEmpty
            ? "No check-ins in the last 30 days."
            : "Checked in on \(days.count) of the last 30 days; the current streak is \(Self.days(current)), the longest \(Self.days(longest)), and the longest gap \(Self.days(longestGap))."
        return insight("check_in_streaks", days: Self.windowDays, values, sentence)
    }

    static func days(_ n: Int) -> String { n == 1 ? "1 day" : "\(n) days" }

    static func percent(_ part: Int, of whole: Int) -> Int {
        whole == 0 ? 0 : Int((Double(part) * 100 / Double(whole)).rounded())
    }

    /// How often check-ins reported feeling hungry, angry, lonely or tired.
    public var haltFrequency: Insight {
        let checkIns = activity.checkIns.filter { $0.day >= first(Self.windowDays) && $0.day <= today }
        var counts = [0, 0, 0, 0]
        for c in checkIns { for i in 0..<4 where c.halt[i] { counts[i] += 1 } }
        var values: [String: JSONValue] = ["check_ins": .integer(checkIns.count)]
        for i in 0..<4 {
            values[Self.haltNames[i]] = .integer(counts[i])
            values[Self.haltNames[i] + "_rate"] = checkIns.isEmpty ? .null : .number(Self.rounded(Double(counts[i]) / Double(checkIns.count)))
        }
        let sentence: String
        if checkIns.isEmpty {
            sentence = "No check-ins in the last 30 days."
        } else if counts.allSatisfy({ $0 == 0 }) {
            sentence = "None of the \(checkIns.count) check-ins of the last 30 days reported feeling hungry, angry, lonely or tired."
        } else {
            let order = (0..<4).filter { counts[$0] > 0 }.sorted { counts[$0] > counts[$1] || (counts[$0] == counts[$1] && $0 < $1) }
            let parts = order.enumerated().map { index, item in
                "\(counts[item]) \(index == 0 ? "reported feeling " : "")\(Self.haltNames[item]) (\(Self.percent(counts[item], of: checkIns.count)) %)"
            }
            sentence = "Of \(checkIns.count) check-ins in the last 30 days, \(Self.list(parts))."
        }
        return insight("halt_frequency", days: Self.windowDays, values, sentence)
    }

    // MARK: Adherence

    /// Meetings attended in each of the last four weeks (oldest first),
    /// against the four weeks before.
    public var meetingAdherence: Insight {
        let weeks = (0..<4).map { w in
            let end = today - 7 * (3 - w), start = end - 6
            return activity.meetings.filter { $0 >= start && $0 <= end }.count
        }
        let recent = weeks.reduce(0, +)
        let before = activity.meetings.filter { $0 >= today - 55 && $0 <= today - 28 }.count
        let values: [String: JSONValue] = ["weekly": .array(weeks.map(JSONValue.integer)), "last_4_weeks": .integer(recent), "previous_4_weeks": .integer(before)]
        let change = recent > before ? "up from" : recent < before ? "down from" : "the same as"
        let sentence = recent == 0 && before == 0
            ? "No meetings were recorded in the last 8 weeks."
            : "Went to \(recent) \(recent == 1 ? "meeting" : "meetings") in the last 4 weeks (by week: \(weeks.map(String.init).joined(separator: ", "))), \(change) \(before) in the 4 weeks before."
        return insight("meeting_adherence", days: 28, values, sentence)
    }

    /// Scheduled doses taken (on time or late) in the last 30 and 7 days.
    public var medicationAdherence: Insight {
        func window(_ days: Int) -> (taken: Int, late: Int, total: Int) {
            let doses = activity.doses.filter { $0.day >= first(days) && $0.day <= today }
            return (doses.filter(\.taken).count, doses.filter(\.late).count, doses.count)
        }
        let month = window(30), week = window(7)
        func rate(_ w: (taken: Int, late: Int, total: Int)) -> JSONValue { w.total == 0 ? .null : .number(Self.rounded(Double(w.taken) / Double(w.total))) }
        let values: [String: JSONValue] = [
            "scheduled_30d": .integer(month.total), "taken_30d": .integer(month.taken), "late_30d": .integer(month.late), "adherence_30d": rate(month),
            "scheduled_7d": .integer(week.total), "taken_7d": .integer(week.taken), "adherence_7d": rate(week),
        ]
        let sentence: String
        if month.total == 0 {
            sentence = "No scheduled medication doses were recorded in the last 30 days."
        } else {
            let late = month.late > 0 ? ", \(month.late) of them late" : ""
            let recent = week.total == 0 ? "none were scheduled in the last 7 days"
                : "\(week.taken) of \(week.total) in the last 7 days (\(Self.percent(week.taken, of: week.total)) %)"
            sentence = "Took \(month.taken) of \(month.total) scheduled doses in the last 30 days (\(Self.percent(month.taken, of: month.total)) %\(late)) and \(recent)."
        }
        return insight("medication_adherence", days: 30, values, sentence)
    }
}
