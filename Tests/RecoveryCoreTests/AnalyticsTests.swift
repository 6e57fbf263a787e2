import Foundation
import GRDB
import Testing
@testable import RecoveryCore

/// Insights and the relapse-risk score over known records: exact numbers
/// and sentences, the facility's calendar, stored history and the flag.
@Suite struct AnalyticsTests {
    /// Wednesday 18 March 2026, the "today" of the known records.
    static let today = CalendarDate.julianDay("2026-03-18")!

    /// Known records, described day by day relative to today (T).
    static func knownActivity() -> PatientActivity {
        let t = today
        var a = PatientActivity(today: t)
        // Older check-ins (T-20 reported use), then daily moods 3...9 for the last 7 days.
        a.checkIns.append(.init(day: t - 20, mood: 6, usedSinceLast: true))
        a.checkIns.append(.init(day: t - 10, mood: 6))
        let halts: [Int: [Bool]] = [0: [false, true, true, true], 1: [false, false, true, true], 2: [false, false, false, true], 3: [false, false, false, true]]
        for back in 0...6 {
            a.checkIns.append(.init(day: t - back, mood: 9 - back, craving: 5, stress: 4, confidence: 6,
                                    halt: halts[back] ?? [false, false, false, false], sleepHours: back == 2 || back == 4 ? 5.5 : 7))
        }
        // Nine cravings on weekdays between 18:00 and 21:00, three at weekends at 19:00, two on weekdays at 09:00.
        let evenings = [(0, 18), (1, 19), (2, 20), (5, 18), (6, 19), (7, 20), (8, 18), (9, 19), (12, 20)]
        let weekends = [(3, 19), (4, 19), (10, 19)]
        let mornings = [(1, 9), (8, 9)]
        let triggers = [["stress"], ["stress", "loneliness"], ["stress"], ["loneliness"], ["stress", "boredom"], ["stress"], ["loneliness"],
                        ["stress", "loneliness"], ["boredom", "people"], [], [], [], [], []]
        for (index, (back, hour)) in (evenings + weekends + mornings).enumerated() {
            a.cravings.append(.init(day: t - back, hour: hour, intensity: 6, triggers: triggers[index], actedOn: back == 12 || back == 10))
        }
        a.cravings.append(.init(day: t - 40, hour: 19, intensity: 9, triggers: ["pain"]))   // outside every window
        a.triggerLabels = ["stress": "Stress", "loneliness": "Loneliness", "boredom": "Boredom", "people": "People", "pain": "Pain"]
        a.meetings = [1, 3, 8, 15, 18, 22, 28, 29, 30, 33, 36, 40, 45, 50, 52, 54, 60].map { t - $0 }
        let skipped: Set<Int> = [25, 20, 15, 0], late: Set<Int> = [2, 10, 12]
        a.doses = (0...29).map { back in .init(day: t - back, taken: !skipped.contains(back), late: late.contains(back)) }
        return a
    }

    func insight(_ kind: String) -> PatientInsights.Insight {
        PatientInsights(Self.knownActivity()).all.first { $0.kind == kind }!
    }

    @Test func theKnownDayIsAWednesday() {
        #expect(FacilityClock.weekday(Self.today) == 3)
    }

    @Test func moodTrendOverSevenAndThirtyDays() {
        let mood = insight("mood_trend")
        #expect(mood.values["slope_7d"] == .number(1) && mood.values["mean_7d"] == .number(6) && mood.values["check_ins_7d"] == .integer(7))
        // 30 days: (-20, 6), (-10, 6) and (-6...0, 3...9): slope 0.0927...
        #expect(mood.values["slope_30d"] == .number(0.09) && mood.values["check_ins_30d"] == .integer(9))
        #expect(mood.from == "2026-02-17" && mood.to == "2026-03-18")
        #expect(mood.sentence == "Mood is rising over the last 7 days (+1.00 a day, average 6.0 from 7 check-ins) and rising over the last 30 days (+0.09 a day, average 6.0 from 9).")
    }

    @Test func cravingsByHourAndWeekday() {
        let pattern = insight("craving_pattern")
        #expect(pattern.values["cravings"] == .integer(14))
        #expect(pattern.values["by_weekday"] == .array([2, 4, 2, 1, 2, 1, 2].map(JSONValue.integer)))
        guard case .array(let hours)? = pattern.values["by_hour"] else { Issue.record("by_hour"); return }
        #expect(hours[9] == .integer(2) && hours[18] == .integer(3) && hours[19] == .integer(6) && hours[20] == .integer(3))
        #expect(pattern.values["peak_block"] == .string("18:00-21:00") && pattern.values["peak_days"] == .string("weekdays"))
        #expect(pattern.sentence == "Cravings were logged most often between 18:00 and 21:00 on weekdays (9 of 14); Tuesdays had the most (4).")
    }

    @Test func topTriggersAndLapses() {
        let triggers = insight("top_triggers")
        #expect(triggers.values["acted_on"] == .integer(2))
        #expect(triggers.sentence == "The triggers named most often were stress (6), loneliness (4) and boredom (2), across 14 cravings; 2 were acted on.")
    }

    @Test func streaksAndGaps() {
        let streaks = insight("check_in_streaks")
        #expect(streaks.values["days_checked_in"] == .integer(9) && streaks.values["current_streak"] == .integer(7))
        #expect(streaks.values["longest_gap"] == .integer(9) && streaks.values["days_since_last"] == .integer(0))
        #expect(streaks.sentence == "Checked in on 9 of the last 30 days; the current streak is 7 days, the longest 7 days, and the longest gap 9 days.")
        // Before today's check-in the streak still counts up to yesterday.
        var earlier = Self.knownActivity()
        earlier.checkIns.removeAll { $0.day == Self.today }
        #expect(PatientInsights(earlier).checkInStreaks.values["current_streak"] == .integer(6))
    }

    @Test func haltFrequency() {
        let halt = insight("halt_frequency")
        #expect(halt.values["tired"] == .integer(4) && halt.values["lonely"] == .integer(2) && halt.values["angry"] == .integer(1) && halt.values["hungry"] == .integer(0))
        #expect(halt.sentence == "Of 9 check-ins in the last 30 days, 4 reported feeling tired (44 %), 2 lonely (22 %) and 1 angry (11 %).")
    }

    @Test func meetingAndMedicationAdherence() {
        let meetings = insight("meeting_adherence")
        #expect(meetings.values["weekly"] == .array([1, 2, 1, 2].map(JSONValue.integer)))
        #expect(meetings.sentence == "Went to 6 meetings in the last 4 weeks (by week: 1, 2, 1, 2), down from 10 in the 4 weeks before.")
        let doses = insight("medication_adherence")
        #expect(doses.values["adherence_30d"] == .number(0.87) && doses.values["adherence_7d"] == .number(0.86))
        #expect(doses.sentence == "Took 26 of 30 scheduled doses in the last 30 days (87 %, 3 of them late) and 6 of 7 in the last 7 days (86 %).")
    }

    @Test func aPatientWithoutRecordsGetsPlainSentencesNotErrors() {
        let empty = PatientInsights(PatientActivity(today: Self.today)).all
        #expect(empty.map(\.sentence) == [
            "Too few check-ins in the last 30 days to show a mood trend (0).",
            "No cravings were logged in the last 30 days.",
            "No cravings were logged in the last 30 days.",
            "No check-ins in the last 30 days.",
            "No check-ins in the last 30 days.",
            "No meetings were recorded in the last 8 weeks.",
            "No scheduled medication doses were recorded in the last 30 days.",
        ])
    }

    // MARK: Risk

    @Test func theRiskScoreShowsEveryFactorWithItsWeight() {
        let score = RiskModel.score(Self.knownActivity())
        let factors = Dictionary(uniqueKeysWithValues: score.factors.map { ($0.code, $0) })
        #expect(score.factors.map(\.code) == RiskModel.signals.map(\.code))
        #expect(factors["reported_use_14d"]?.value == 1 && factors["prior_lapses_90d"]?.value == 1)
        #expect(factors["craving_frequency_7d"]?.value == 8.0 / 7 && factors["missed_check_ins_7d"]?.value == 0)
        #expect(factors["meeting_drop_off"]?.value == 0 && factors["medication_nonadherence_14d"]?.value == 1.0 / 14)
        #expect(factors["transition_period"]?.value == 0 && factors["short_sleep_7d"]?.value == 2.0 / 7)
        // logit = -3.5 + 1.6 + 0.35 + 0.48 + 0.5533*1.4 + 1.1429*0.4 + 0.28 + 0.4444*0.9 + 0.25*0.6 + 0.2857*0.4 + 0.0714*0.7 = 1.156
        #expect(score.score == 76.1 && score.level == "critical")
        // Nothing recorded: only the missed check-ins count. logit -2.9, 5.2 %.
        let empty = RiskModel.score(PatientActivity(today: Self.today))
        #expect(empty.score == 5.2 && empty.level == "low")
        #expect(empty.factors.first { $0.code == "negative_mood_7d" }?.value == nil)
    }

    @Test func levelsFollowTheScore() {
        #expect([0, 24.9, 25, 49.9, 50, 74.9, 75, 100].map(RiskModel.level) == ["low", "low", "moderate", "moderate", "high", "high", "critical", "critical"])
    }

    // MARK: Through the database

    struct Fixture {
        let dir: TemporaryDirectory
        let appliance: Appliance
        let patient: SyncEngine.Patient
        var engine: SyncEngine { SyncEngine(appliance: appliance) }
    }

    func fixture(timeZone: String) async throws -> Fixture {
        let (dir, appliance, patientID, facilityID) = try await SyncEngineTests().appliance()
        try await appliance.database.pool.write { db in
            try db.execute(sql: "UPDATE facilities SET timezone = ? WHERE id = ?", arguments: [timeZone, facilityID])
            try db.execute(sql: "UPDATE patients SET status = 'active' WHERE id = ?", arguments: [patientID])
        }
        return Fixture(dir: dir, appliance: appliance, patient: .init(id: patientID, facilityID: facilityID))
    }

    @Test func cravingsAreReadOnTheFacilitysCalendar() async throws {
        let f = try await fixture(timeZone: "Pacific/Auckland")
        defer { withExtendedLifetime(f.dir) {} }
        let now = Date()
        let times = [now.addingTimeInterval(-86 * 3_600), now.addingTimeInterval(-30 * 3_600), now.addingTimeInterval(-3_600)]   // oldest first, as read
        let items = times.map { time in
            RecoveryRecordsTests.item("craving", ["occurred_at": .string(Timestamp.string(time)), "intensity": .integer(4),
                                                  "triggers": .array([.string("stress")])])
        }
        _ = try await f.engine.push(f.patient, items: items, origin: .init())
        let activity = try await f.appliance.database.pool.read { db in
            try PatientActivity.load(facilityID: f.patient.facilityID, patientID: f.patient.id, now: now, in: db)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Pacific/Auckland")!
        let expected = times.map { time -> (String, Int) in
            let c = calendar.dateComponents([.year, .month, .day, .hour], from: time)
            return (String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!), c.hour!)
        }
        #expect(activity.cravings.map { CalendarDate.string(julianDay: $0.day) } == expected.map(\.0))
        #expect(activity.cravings.map(\.hour) == expected.map(\.1))
        #expect(CalendarDate.string(julianDay: activity.today) == {
            let c = calendar.dateComponents([.year, .month, .day], from: now)
            return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
        }())
        #expect(activity.cravings.allSatisfy { $0.triggers == ["stress"] } && activity.triggerLabels["stress"] == "Stress")
    }

    @Test func scoresAreKeptAsHistoryAndACrossingRaisesOneFlag() async throws {
        let f = try await fixture(timeZone: "UTC")
        defer { withExtendedLifetime(f.dir) {} }
        let scores = RiskScores(appliance: f.appliance)
        let patients = [(facilityID: f.patient.facilityID, patientID: f.patient.id)]
        #expect(try await scores.recompute(patients) == 1)
        #expect(try await scores.recompute(patients) == 0)   // nothing changed: no new row
        func count(_ sql: String) async throws -> Int {
            try await f.appliance.database.pool.read { db in try Int.fetchOne(db, sql: sql, arguments: [f.patient.id])! }
        }
        #expect(try await count("SELECT count(*) FROM risk_scores WHERE patient_id = ?") == 1)

        // A week of bad days with reported use crosses the default threshold (60).
        func week(mood: Int, craving: Int, used: Bool) -> [SyncEngine.Item] {
            (0...6).map { back in
                let time = Date().addingTimeInterval(-Double(back) * 86_400 - 60)
                return RecoveryRecordsTests.item("check_in", ["local_date": .string(String(Timestamp.string(time).prefix(10))), "timezone": .string("UTC"),
                                                              "mood": .integer(mood), "craving": .integer(craving), "stress": .integer(9),
                                                              "confidence": .integer(1), "used_since_last": .bool(used && back == 0)],
                                                 id: "0000000\(back)-0000-4000-8000-000000000000")
            }
        }
        _ = try await f.engine.push(f.patient, items: week(mood: 2, craving: 9, used: true), origin: .init())
        let watch = RiskWatch(appliance: f.appliance)
        try await watch.tick()   // the first pass scores everyone
        #expect(try await count("SELECT count(*) FROM risk_scores WHERE patient_id = ?") == 2)
        #expect(try await count("SELECT count(*) FROM patient_flags WHERE patient_id = ? AND kind = 'risk'") == 1)
        let latest = try await f.appliance.database.pool.read { db in
            try Double.fetchOne(db, sql: "SELECT score FROM risk_scores WHERE patient_id = ? ORDER BY computed_at DESC, id DESC LIMIT 1", arguments: [f.patient.id])!
        }
        #expect(latest >= 60)

        // A change that keeps it above the threshold stores a score and raises no second flag.
        _ = try await f.engine.push(f.patient, items: week(mood: 3, craving: 9, used: true), origin: .init())
        try await watch.tick()   // only the changed patient
        #expect(try await count("SELECT count(*) FROM risk_scores WHERE patient_id = ?") == 3)
        #expect(try await count("SELECT count(*) FROM patient_flags WHERE patient_id = ? AND kind = 'risk'") == 1)
        // The flag names the score that crossed.
        let source = try await f.appliance.database.pool.read { db in
            try String.fetchOne(db, sql: "SELECT source_record_type FROM patient_flags WHERE patient_id = ? AND kind = 'risk'", arguments: [f.patient.id])
        }
        #expect(source == "risk_scores")
    }
}
