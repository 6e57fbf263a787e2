import Foundation
import GRDB
import Testing
@testable import RecoveryCore

/// The current week's days next to the weeks: their suppression across the
/// week and its days, the clinic's day snapshots, central's storage, reading
/// and roll-ups of days.
@Suite struct FederationDaysTests {
    struct Day {
        var census: Int
        var admissions: Int
        var discharges: Int
        var cravings = 0
        var moods = [0, 0, 0]
    }

    /// A period's figures: every count zero but those given, the cravings at intensity 5.
    func figures(_ day: Day, opening: Int) -> MetricsCatalogue.Figures {
        var f = MetricsCatalogue.Figures()
        for metric in MetricsCatalogue.metrics where metric.kind == .count { f.counts[metric.name] = 0 }
        f.counts["census"] = day.census
        f.counts["age_35_44"] = day.census
        f.counts["admissions"] = day.admissions
        f.counts["discharges"] = day.discharges
        f.counts["cravings_logged"] = day.cravings
        f.intensitySum = 5 * day.cravings
        f.counts["check_ins"] = day.moods.reduce(0, +)
        for (band, count) in zip(MetricsCatalogue.moodBands, day.moods) { f.counts[band.name] = count }
        f.openingCensus = opening
        return f
    }

    /// The week (all seven days' sums, Sunday's census) and the cells of its first `elapsed` days.
    func publish(_ days: [Day], opening: Int, elapsed: Int) -> (week: [String: CellValue], days: [[String: CellValue]]) {
        var before = opening
        let daily = days.map { day -> MetricsCatalogue.Figures in
            defer { before = day.census }
            return figures(day, opening: before)
        }
        let total = Day(census: days.last!.census, admissions: days.map(\.admissions).reduce(0, +),
                        discharges: days.map(\.discharges).reduce(0, +), cravings: days.map(\.cravings).reduce(0, +),
                        moods: (0..<3).map { band in days.map { $0.moods[band] }.reduce(0, +) })
        let week = figures(total, opening: opening)
        let cells = Suppression.days(week: week, days: Array(daily.prefix(elapsed)))
        return (Dictionary(uniqueKeysWithValues: Suppression.cells(week).map { ($0.metric, $0.value) }),
                cells.map { Dictionary(uniqueKeysWithValues: $0.map { ($0.metric, $0.value) }) })
    }

    let quiet = Day(census: 30, admissions: 0, discharges: 0)

    @Test func daysOfAWeekWithoutSmallCellsShowEveryCount() {
        let days = Array(repeating: Day(census: 30, admissions: 0, discharges: 0, cravings: 12, moods: [0, 20, 0]), count: 7)
        let published = publish(days, opening: 30, elapsed: 3)
        #expect(published.days.count == 3)
        for day in published.days {
            #expect(day["census"] == .count(30) && day["admissions"] == .count(0) && day["cravings_logged"] == .count(12))
            #expect(day["mood_4_6"] == .count(20) && day["craving_mean_intensity"] == .number(5))
        }
        #expect(published.week["cravings_logged"] == .count(84))
    }

    @Test func aSmallDayHidesItsGroupInEveryDayOfTheWeek() {
        // Monday 3 cravings (suppressed), Tuesday 12: the week's 15 minus Tuesday's 12 would give Monday's back.
        var days = Array(repeating: quiet, count: 7)
        days[0].cravings = 3
        days[1].cravings = 12
        let published = publish(days, opening: 30, elapsed: 2)
        #expect(published.week["cravings_logged"] == .count(15))
        #expect(published.days.allSatisfy { $0["cravings_logged"] == .suppressed && $0["craving_mean_intensity"] == .suppressed })
        #expect(published.days.allSatisfy { $0["census"] == .count(30) }, "other groups are shown")
    }

    @Test func aSmallWeeklyCellHidesItsGroupInTheDays() {
        // Five admitted on Monday and five discharged on Tuesday: each day's movement is small, so is the week's.
        var days = Array(repeating: Day(census: 30, admissions: 0, discharges: 0), count: 7)
        days[0] = Day(census: 35, admissions: 5, discharges: 0)
        days[1] = Day(census: 30, admissions: 0, discharges: 5)
        let published = publish(days, opening: 30, elapsed: 7)
        #expect(published.week["admissions"] == .suppressed && published.week["discharges"] == .suppressed)
        for day in published.days {
            #expect(["census", "admissions", "discharges", "age_35_44"].allSatisfy { day[$0] == .suppressed })
            #expect(day["check_in_completion_rate"] == .suppressed && day["meeting_attendance_rate"] == .suppressed)
        }
    }

    @Test func aSmallCensusTheWeekBeforeHidesTheBalanceOfEveryDay() {
        // Eight in care at the end of last week (suppressed there); twelve admitted on Monday. Monday's census
        // minus its admissions would give last week's census back.
        var days = Array(repeating: Day(census: 20, admissions: 0, discharges: 0), count: 7)
        days[0] = Day(census: 20, admissions: 12, discharges: 0)
        let published = publish(days, opening: 8, elapsed: 3)
        #expect(published.days.allSatisfy { $0["census"] == .suppressed && $0["admissions"] == .suppressed && $0["discharges"] == .suppressed })
    }

    @Test func noSmallCellOfManyRandomClinicsIsFixedByTheirPublishedWeekAndDays() {
        var generator = SeededGenerator(seed: 20_261_201)
        var checked = 0, withoutGroups = 0
        for _ in 0..<300 {
            let opening = Int.random(in: 0...25, using: &generator)
            var census = opening
            var days: [Day] = []
            for _ in 0..<7 {
                let admissions = Int.random(in: 0...4, using: &generator) == 0 ? Int.random(in: 0...14, using: &generator) : 0
                let discharges = Int.random(in: 0...min(census + admissions, 3), using: &generator)
                census += admissions - discharges
                let moods = (0..<3).map { _ in Int.random(in: 0...3, using: &generator) == 0 ? Int.random(in: 0...14, using: &generator) : 0 }
                days.append(Day(census: census, admissions: admissions, discharges: discharges,
                                cravings: Int.random(in: 0...2, using: &generator) == 0 ? Int.random(in: 0...15, using: &generator) : 0, moods: moods))
            }
            let elapsed = Int.random(in: 1...7, using: &generator)
            let published = publish(days, opening: opening, elapsed: elapsed)
            let found = fixedSmallCells(days, opening: opening, elapsed: elapsed, published: published)
            #expect(found.fixed.isEmpty, "\(found.fixed) fixed by the published week and \(elapsed) days of \(days.map { ($0.census, $0.admissions, $0.discharges, $0.cravings) })")
            checked += found.small
            // The same days, each suppressed on its own without the week's linked groups: the check finds what the rule prevents.
            var before = opening
            let alone = days.prefix(elapsed).map { day -> [String: CellValue] in
                defer { before = day.census }
                return Dictionary(uniqueKeysWithValues: Suppression.cells(figures(day, opening: before)).map { ($0.metric, $0.value) })
            }
            withoutGroups += fixedSmallCells(days, opening: opening, elapsed: elapsed, published: (published.week, alone)).fixed.count
        }
        #expect(checked > 1_000, "the clinics suppress enough small cells to test")
        #expect(withoutGroups > 0, "without the linked groups some small day or week cell is given back")
    }

    /// Small suppressed cells (the week's, its published days', the census before) and those of them the
    /// published cells fix: the unknowns are every suppressed cell and every cell of a day not yet sent.
    func fixedSmallCells(_ days: [Day], opening: Int, elapsed: Int,
                         published: (week: [String: CellValue], days: [[String: CellValue]])) -> (small: Int, fixed: [String]) {
        var index: [String: Int] = [:]
        var value: [String: Int] = [:]
        var small: Set<String> = []
        func term(_ name: String, _ cell: CellValue?, exact: Int) -> String {
            if cell == .suppressed || cell == nil, index[name] == nil { index[name] = index.count }
            if cell == .suppressed && Suppression.isSmall(exact) { small.insert(name) }
            value[name] = exact
            return name
        }
        var before = term("census@-1", Suppression.isSmall(opening) ? .suppressed : .count(opening), exact: opening)
        var equations: [[String: Double]] = []
        var sums: [String: [String: Double]] = [:]
        func add(_ total: String, _ name: String) { sums[total, default: [:]][name, default: 0] += 1 }
        for (d, day) in days.enumerated() {
            let cells: [String: CellValue] = d < elapsed ? published.days[d] : [:]
            let census = term("census@\(d)", cells["census"], exact: day.census)
            let admissions = term("admissions@\(d)", cells["admissions"], exact: day.admissions)
            let discharges = term("discharges@\(d)", cells["discharges"], exact: day.discharges)
            equations.append([census: 1, before: -1, admissions: -1, discharges: 1])
            add("admissions", admissions)
            add("discharges", discharges)
            add("cravings_logged", term("cravings_logged@\(d)", cells["cravings_logged"], exact: day.cravings))
            var moods: [String: Double] = [term("check_ins@\(d)", cells["check_ins"], exact: day.moods.reduce(0, +)): -1]
            add("check_ins", "check_ins@\(d)")
            for (band, count) in zip(MetricsCatalogue.moodBands, day.moods) {
                let name = term("\(band.name)@\(d)", cells[band.name], exact: count)
                moods[name] = 1
                add(band.name, name)
            }
            equations.append(moods)
            before = census
        }
        // The week: its sums of the days, its census Sunday's, its mood bands adding up to its check-ins.
        let week = published.week
        equations.append([term("census@week", week["census"], exact: days[6].census): 1, before: -1])
        for (total, terms) in sums {
            let exact = terms.keys.map { value[$0]! }.reduce(0, +)
            equations.append(terms.merging([term("\(total)@week", week[total], exact: exact): -1], uniquingKeysWith: +))
        }
        equations.append(Dictionary(uniqueKeysWithValues: MetricsCatalogue.moodBands.map { ("\($0.name)@week", 1.0) } + [("check_ins@week", -1.0)]))
        let system = equations.map { equation in
            Dictionary(equation.compactMap { name, coefficient in index[name].map { ($0, coefficient) } }, uniquingKeysWith: +)
        }
        let fixed = small.filter { FederationBalanceTests().determined(index[$0]!, by: system, unknowns: index.count) }
        return (small.count, fixed.sorted().map { "\($0) (\(value[$0]!))" })
    }

    // MARK: The clinic's day snapshots and central

    func deliver(_ pair: FederationPair, clinicID: String) async throws -> FederationDelivery.Result {
        let central = pair.central
        return try await FederationDelivery(appliance: pair.clinic, transport: { _, body in
            guard case .object(let fields) = try JSONParser.parse(Array(body)), case .string(let payload)? = fields["payload"],
                  case .string(let signature)? = fields["signature"] else { return (422, Data()) }
            let receipt = try await FederationIngest(appliance: central).receive(clinicID: clinicID, payload: payload,
                                                                                 signature: Data(base64Encoded: signature)!, origin: RequestOrigin())
            let answer = JSONValue.object(["outcome": .string(receipt.outcome.rawValue), "sequence": .integer(receipt.sequence),
                                           "receipt_signature": .string(receipt.signature.base64EncodedString())])
            return (200, Data(answer.canonicalText.utf8))
        }).run(prepare: true, all: true)
    }

    /// A central older than the clinic refuses the schema version: the payloads wait and go once central knows it.
    @Test func aCentralThatDoesNotKnowTheSchemaVersionYetGetsThePayloadsLater() async throws {
        let pair = try await FederationPair()
        let clinicID = try await pair.enroll()
        let refusal = JSONValue.object(["error": .object(["code": .string("unknown_schema_version"), "message": .string("not known")])])
        let old = try await FederationDelivery(appliance: pair.clinic, transport: { _, _ in (422, Data(refusal.canonicalText.utf8)) })
            .run(prepare: true, all: true)
        #expect(old.sent == 0 && old.pending == FederationOutbox.reportedPeriods().count && old.lastError == "unknown_schema_version")
        let upgraded = try await deliver(pair, clinicID: clinicID)
        #expect(upgraded.sent == FederationOutbox.reportedPeriods().count && upgraded.pending == 0)
        // Any other refusal gives the payload up.
        let other = JSONValue.object(["error": .object(["code": .string("invalid_payload"), "message": .string("no")])])
        try await FederationNoiseTests().raiseAlerts(12, pair.clinic)
        let refused = try await FederationDelivery(appliance: pair.clinic, transport: { _, _ in (422, Data(other.canonicalText.utf8)) })
            .run(prepare: true, all: true)
        #expect(refused.failed > 0 && refused.pending == 0)
    }

    @Test func theClinicSendsEachElapsedDayAndARecomputedDayReplacesItsSnapshot() async throws {
        let pair = try await FederationPair()
        let clinicID = try await pair.enroll()
        let now = Date()
        let week = ISOWeek(containing: now), today = ISOWeek.day(now)
        let days = week.days(through: today)
        #expect(days.first?.start == week.start && days.last?.start == today && days.allSatisfy { $0.granularity == .day })
        // Last week's seven days are reported too, withdrawn: every cell suppressed.
        let lastWeek = week.back(1).days(through: FederationPeriod(week.back(1)).end)
        #expect(lastWeek.count == 7)
        #expect(FederationOutbox.reportedPeriods(now: now).count == FederationOutbox.backfillWeeks + lastWeek.count + days.count)

        let first = try await deliver(pair, clinicID: clinicID)
        #expect(first.sent == FederationOutbox.backfillWeeks + lastWeek.count + days.count && first.pending == 0)
        let all = try await pair.clinic.database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT payload FROM federation_outbox WHERE granularity = 'day' ORDER BY period_start")
        }.map(FederationPayload.parse)
        let withdrawn = all.filter { $0.period.start < week.start }, sent = all.filter { $0.period.start >= week.start }
        #expect(withdrawn.map(\.period.name) == lastWeek.map(\.name))
        #expect(withdrawn.allSatisfy { payload in payload.facilities.allSatisfy { $0.cells.allSatisfy { $0.value == .suppressed } } })
        #expect(sent.map(\.period.name) == days.map(\.name) && sent.allSatisfy { $0.schemaVersion == 3 })
        #expect(sent.allSatisfy { payload in payload.facilities.allSatisfy { $0.cells.map(\.metric) == MetricsCatalogue.metrics.map(\.name) } },
                "a full snapshot of every metric, zeros included")
        let metrics = FederationMetrics(appliance: pair.central)
        let stored = try await metrics.cells(pair.superAdmin, facilityID: nil, metric: "crisis_alerts_raised", granularity: .day,
                                             from: nil, to: nil, limit: 1_000)
        let facilities = sent[0].facilities.count
        #expect(stored.count == (lastWeek.count + days.count) * facilities && stored.allSatisfy { $0.granularity == "day" && $0.period == $0.periodStart })
        let weeks = try await metrics.cells(pair.superAdmin, facilityID: nil, metric: "crisis_alerts_raised", from: nil, to: nil, limit: 1_000)
        #expect(weeks.count == FederationOutbox.backfillWeeks * facilities && weeks.allSatisfy { $0.granularity == "week" },
                "the Monday's day and its week are kept apart")

        // Twelve crisis alerts today at one facility: today's day and the week are sent again, today's cells replaced.
        let facility = try await pair.clinic.database.pool.write { db -> String in
            let row = try Row.fetchOne(db, sql: "SELECT id, facility_id FROM patients ORDER BY id LIMIT 1")!
            for _ in 0..<12 {
                try db.execute(sql: "INSERT INTO crisis_alerts (id, facility_id, patient_id, raised_by_kind, source) VALUES (?, ?, ?, 'system', 'system')",
                               arguments: [RowID.make(), row["facility_id"] as String, row["id"] as String])
            }
            return row["facility_id"]
        }
        let second = try await deliver(pair, clinicID: clinicID)
        let resent = try await pair.clinic.database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT granularity || ' ' || period_start FROM federation_outbox WHERE sequence > ? ORDER BY sequence",
                                arguments: [first.sent])
        }
        #expect(second.sent == 2 && resent == ["week \(week.start)", "day \(today)"])
        let todays = try await pair.central.database.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT c.metric, c.value, c.suppressed, c.sequence FROM federation_metric_cells c
                JOIN federation_facilities f ON f.id = c.facility_id
                WHERE f.source_ref = ? AND c.granularity = 'day' AND c.period_start = ?
                """, arguments: [facility, today])
        }
        #expect(todays.count == MetricsCatalogue.metrics.count, "replaced, not added to")
        #expect(Set(todays.map { $0["sequence"] as Int }) == [first.sent + 2])
        let alerts = try #require(todays.first { $0["metric"] as String == "crisis_alerts_raised" })
        #expect((alerts["suppressed"] as Bool) || (alerts["value"] as Int?).map { $0 >= 12 } == true)
    }

    func dayPayload(clinicID: String, sequence: Int, version: Int, day: FederationPeriod, census: Int) -> String {
        var f = MetricsCatalogue.Figures()
        for metric in MetricsCatalogue.metrics where metric.kind == .count { f.counts[metric.name] = 0 }
        f.counts["census"] = census
        f.counts["age_35_44"] = census
        f.openingCensus = census
        return FederationPayload(clinicID: clinicID, sequence: sequence, schemaVersion: version, period: day,
                                 facilities: [.init(ref: "facility", name: "Facility", cells: Suppression.cells(f))]).canonicalText
    }

    @Test func centralStoresDaysOfVersion3AndStillTakesVersion2Weeks() async throws {
        let pair = try await FederationPair()
        let peers = FederationPeers(appliance: pair.central)
        let key = SigningKey.generate()
        let enrollment = try await peers.createEnrollment(pair.superAdmin, facilityName: "Harbor", origin: RequestOrigin())
        let clinicID = try await peers.redeem(code: enrollment.code, publicKey: key.publicKey, origin: RequestOrigin()).clinicID
        let ingest = FederationIngest(appliance: pair.central)
        func send(_ text: String) async throws -> FederationIngest.Outcome {
            try await ingest.receive(clinicID: clinicID, payload: text, signature: key.sign(Array(text.utf8)), origin: RequestOrigin()).outcome
        }
        let week = ISOWeek(containing: Date())
        let monday = try #require(FederationPeriod(day: week.start))
        // A version 2 week, as a clinic not yet upgraded sends it, and a version 3 day on the same Monday.
        let weekText = dayPayload(clinicID: clinicID, sequence: 1, version: 2, day: FederationPeriod(week), census: 40)
        #expect(try await send(weekText) == .stored)
        #expect(try await send(dayPayload(clinicID: clinicID, sequence: 2, version: 3, day: monday, census: 30)) == .stored)
        let metrics = FederationMetrics(appliance: pair.central)
        func census(_ granularity: FederationPeriod.Granularity) async throws -> [CellValue] {
            try await metrics.cells(pair.superAdmin, facilityID: nil, metric: "census", granularity: granularity, from: nil, to: nil, limit: 10).map(\.value)
        }
        #expect(try await census(.week) == [.count(40)])
        #expect(try await census(.day) == [.count(30)])
        #expect(weekText.contains("\"week\":\"\(week.name)\""))

        // Refused, nothing stored: a day in a version 2 payload, a day that is no date, a day whose end differs.
        let before = try await pair.stored()
        let v2day = dayPayload(clinicID: clinicID, sequence: 3, version: 2, day: monday, census: 20)
        await #expect(throws: FederationError.invalid(field: "payload.period", issue: "must be an ISO week {start, end, week}")) { _ = try await send(v2day) }
        let good = dayPayload(clinicID: clinicID, sequence: 4, version: 3, day: monday, census: 20)
        for bad in [good.replacingOccurrences(of: "\(week.start)", with: "2026-02-30"),
                    good.replacingOccurrences(of: "\"end\":\"\(week.start)\"", with: "\"end\":\"\(week.end)\"")] {
            await #expect(throws: FederationError.invalid(field: "payload.period", issue: "must be an ISO week {start, end, week} or a day {start, end, day}")) {
                _ = try await send(bad)
            }
        }
        #expect(try await pair.stored() == before)
        #expect(try await census(.day) == [.count(30)])
    }

    @Test func dayRollupsSumShownDaysAndNeverGiveASuppressedOneBack() async throws {
        let pair = try await FederationPair()
        let peers = FederationPeers(appliance: pair.central)
        let week = ISOWeek(containing: Date())
        let monday = try #require(FederationPeriod(day: week.start))
        for (index, census) in [20, 3, 30].enumerated() {
            let key = SigningKey.generate()
            let enrollment = try await peers.createEnrollment(pair.superAdmin, facilityName: "Clinic \(index)", origin: RequestOrigin())
            let clinicID = try await peers.redeem(code: enrollment.code, publicKey: key.publicKey, origin: RequestOrigin()).clinicID
            for (sequence, text) in [dayPayload(clinicID: clinicID, sequence: 1, version: 3, day: FederationPeriod(week), census: 40),
                                     dayPayload(clinicID: clinicID, sequence: 2, version: 3, day: monday, census: census)].enumerated() {
                #expect(try await FederationIngest(appliance: pair.central).receive(clinicID: clinicID, payload: text, signature: key.sign(Array(text.utf8)),
                                                                                    origin: RequestOrigin()).sequence == sequence + 1)
            }
        }
        let rollups = FederationRollups(appliance: pair.central)
        let days = try await rollups.rollups(pair.superAdmin, metric: "census", granularity: .day, from: nil, to: nil)
        // The attack: the day's total minus the shown clinics. The total is not given, only who contributed.
        #expect(days == [.init(metric: "census", period: monday.name, periodStart: monday.start, value: .suppressed,
                               facilities: 3, clinics: 3, suppressedFacilities: 1)])
        let weeks = try await rollups.rollups(pair.superAdmin, metric: "census", from: nil, to: nil)
        #expect(weeks.map(\.value) == [.count(120)] && weeks.map(\.period) == [week.name], "the weeks are rolled up apart from the days")
        // Admissions go with the small census's balance; a count outside it shows, summed over the days' shown cells.
        let movements = try await rollups.rollups(pair.superAdmin, metric: "admissions", granularity: .day, from: week.start, to: week.start)
        #expect(movements.map(\.value) == [.suppressed])
        let shown = try await rollups.rollups(pair.superAdmin, metric: "lapses", granularity: .day, from: week.start, to: week.start)
        #expect(shown.map(\.value) == [.count(0)])
    }
}
