import Foundation
import GRDB
import Testing
@testable import RecoveryCore

/// Complementary suppression across neighbouring periods: the census of one
/// period + the next one's admissions - its discharges = the next one's census.
@Suite struct FederationBalanceTests {
    struct Week {
        var census: Int
        var admissions: Int
        var discharges: Int
        var ages: [Int] = Array(repeating: 0, count: MetricsCatalogue.ageBands.count)
    }

    /// The cells of consecutive weeks, each week's balance opening with the week before's census.
    func cells(_ weeks: [Week], opening: Int) -> [[String: CellValue]] {
        var before = opening
        return weeks.map { week in
            var f = MetricsCatalogue.Figures()
            for metric in MetricsCatalogue.metrics where metric.kind == .count { f.counts[metric.name] = 0 }
            f.counts["census"] = week.census
            f.counts["admissions"] = week.admissions
            f.counts["discharges"] = week.discharges
            for (band, count) in zip(MetricsCatalogue.ageBands, week.ages) { f.counts[band.name] = count }
            f.openingCensus = before
            before = week.census
            return Dictionary(uniqueKeysWithValues: Suppression.cells(f).map { ($0.metric, $0.value) })
        }
    }

    @Test func aSuppressedCensusCannotBeRecoveredFromTheNextWeeksCells() {
        // Week 1: eight patients in care (suppressed). Week 2: twelve admitted, none discharged, twenty in care.
        let weeks = cells([Week(census: 8, admissions: 0, discharges: 0), Week(census: 20, admissions: 12, discharges: 0)], opening: 8)
        #expect(weeks[0]["census"] == .suppressed)
        // The attack: census(1) = census(2) - admissions(2) + discharges(2) needs all three shown.
        let next = ["census", "admissions", "discharges"].map { weeks[1][$0] }
        #expect(next.contains(.suppressed), "week 2 shows \(next), which gives week 1's census back")
        #expect(weeks[1]["census"] == .count(20), "the complements are movements, so they do not spread to week 3")
        #expect(weeks[1]["admissions"] == .suppressed && weeks[1]["discharges"] == .suppressed)
    }

    @Test func aSuppressedCensusCannotBeRecoveredFromTheWeekBefore() {
        // Week 1: forty in care, shown. Week 2: three admitted, thirty-five discharged, eight in care (suppressed).
        let weeks = cells([Week(census: 40, admissions: 0, discharges: 0), Week(census: 8, admissions: 3, discharges: 35)], opening: 40)
        #expect(weeks[0]["census"] == .count(40) && weeks[1]["census"] == .suppressed)
        // The attack: census(2) = census(1) + admissions(2) - discharges(2) needs both movements shown.
        #expect(weeks[1]["admissions"] == .suppressed && weeks[1]["discharges"] == .suppressed)
    }

    @Test func aSmallCensusTakesTheMovementsOfBothItsBalancesWithIt() {
        // Five in care week after week: shown zero movements would tell that the census did not change.
        let weeks = cells(Array(repeating: Week(census: 5, admissions: 0, discharges: 0), count: 4), opening: 5)
        #expect(weeks.allSatisfy { $0["census"] == .suppressed && $0["admissions"] == .suppressed && $0["discharges"] == .suppressed })
        // The week after the last small census shows its census but not the movements that lead to it.
        let after = cells([Week(census: 5, admissions: 0, discharges: 0), Week(census: 30, admissions: 25, discharges: 0)], opening: 5)
        #expect(after[1]["census"] == .count(30) && after[1]["admissions"] == .suppressed && after[1]["discharges"] == .suppressed)
    }

    /// The cases where the bounds of a suppressed census (1 to 10) would pin a balance with two unknowns.
    @Test func theBoundsOfASuppressedCensusPinNothing() {
        // 20 in care, no one admitted, 10 discharged: census + discharges = 20 with both at most 10.
        let sum = cells([Week(census: 10, admissions: 0, discharges: 10)], opening: 20)[0]
        #expect(sum["census"] == .suppressed && sum["admissions"] == .suppressed && sum["discharges"] == .suppressed)
        // 1 in care, then 20 admitted and 11 discharged: two suppressed censuses 9 apart can only be 1 and 10.
        let difference = cells([Week(census: 10, admissions: 20, discharges: 11)], opening: 1)[0]
        #expect(difference["census"] == .suppressed && difference["admissions"] == .suppressed && difference["discharges"] == .suppressed)
    }

    /// Every value each suppressed census of `weeks` could take, given all the published cells and what an
    /// observer knows of a suppressed cell: a census in 1 to 10, a movement at least 0 (it may be suppressed
    /// only because of its balance) and, in a balance between two shown censuses, one of its movements small.
    func possibleCensuses(_ published: [[String: CellValue]], opening: CellValue) -> [Set<Int>] {
        func domain(_ cell: CellValue?) -> Set<Int> {
            if case .count(let n)? = cell { return [n] }
            return Set(Suppression.smallCells)
        }
        func fits(_ before: Int, _ census: Int, _ cells: [String: CellValue], bothShown: Bool) -> Bool {
            let change = census - before
            switch (cells["admissions"], cells["discharges"]) {
            case (.count(let a)?, .count(let d)?): return a - d == change
            case (.count(let a)?, _): return a - change >= 0
            case (_, .count(let d)?): return d + change >= 0
            default:
                guard bothShown else { return true }
                return Suppression.smallCells.contains { small in small - change >= 0 || small + change >= 0 }
            }
        }
        let shown = ([opening] + published.map { $0["census"] ?? .suppressed }).map { $0 != .suppressed }
        var domains = [domain(opening)] + published.map { domain($0["census"]) }
        // Forward and backward passes: a value stays while some neighbour value fits its balance.
        var changed = true
        while changed {
            changed = false
            for t in published.indices {
                let bothShown = shown[t] && shown[t + 1]
                let forward = domains[t + 1].filter { c in domains[t].contains { fits($0, c, published[t], bothShown: bothShown) } }
                let backward = domains[t].filter { b in domains[t + 1].contains { fits(b, $0, published[t], bothShown: bothShown) } }
                if forward != domains[t + 1] || backward != domains[t] { changed = true }
                domains[t + 1] = forward
                domains[t] = backward
            }
        }
        return domains
    }

    /// Eight weeks of a small clinic: its census walks between 0 and about 30, with its patients spread over
    /// the age bands when `withAges`.
    func randomClinic(using generator: inout SeededGenerator, withAges: Bool) -> (opening: Int, weeks: [Week]) {
        let opening = Int.random(in: 0...25, using: &generator)
        var census = opening
        var weeks: [Week] = []
        for _ in 0..<8 {
            let admissions = Int.random(in: 0...14, using: &generator)
            let discharges = Int.random(in: 0...min(census + admissions, 14), using: &generator)
            census += admissions - discharges
            var ages = Array(repeating: 0, count: MetricsCatalogue.ageBands.count)
            if withAges { for _ in 0..<census { ages[Int.random(in: 0..<min(3, ages.count), using: &generator) + 2] += 1 } }
            weeks.append(Week(census: census, admissions: admissions, discharges: discharges, ages: ages))
        }
        return (opening, weeks)
    }

    @Test func everySuppressedCensusOfManyRandomClinicsCouldBeAnyValueFrom1To10() {
        var generator = SeededGenerator(seed: 20_261_201)
        var checked = 0
        for _ in 0..<300 {
            let (opening, weeks) = randomClinic(using: &generator, withAges: false)
            let published = cells(weeks, opening: opening)
            let possible = possibleCensuses(published, opening: Suppression.isSmall(opening) ? .suppressed : .count(opening))
            for (t, cells) in published.enumerated() where cells["census"] == .suppressed {
                #expect(possible[t + 1] == Set(Suppression.smallCells),
                        "week \(t)'s census (\(weeks[t].census)) could only be \(possible[t + 1].sorted()) given \(weeks.map { ($0.census, $0.admissions, $0.discharges) })")
                checked += 1
            }
        }
        #expect(checked > 300, "the clinics suppress enough censuses to test")
    }

    @Test func theOldOneComplementRuleWouldHaveFailedTheBoundsCheck() {
        // Two suppressed censuses 9 apart with both movements shown: what the check above must catch.
        let published: [[String: CellValue]] = [["census": .suppressed, "admissions": .count(20), "discharges": .count(11)]]
        #expect(possibleCensuses(published, opening: .suppressed) == [[1], [10]])
    }

    /// Whether unknown `variable` is fixed by the equations (each a map from unknown to coefficient): true when
    /// its unit vector lies in the span of the equations' rows.
    func determined(_ variable: Int, by equations: [[Int: Double]], unknowns: Int) -> Bool {
        func rank(_ rows: [[Double]]) -> Int {
            var m = rows, rank = 0
            for column in 0..<unknowns where rank < m.count {
                guard let pivot = (rank..<m.count).max(by: { abs(m[$0][column]) < abs(m[$1][column]) }), abs(m[pivot][column]) > 1e-9 else { continue }
                m.swapAt(rank, pivot)
                for row in 0..<m.count where row != rank {
                    let factor = m[row][column] / m[rank][column]
                    if factor != 0 { for c in 0..<unknowns { m[row][c] -= factor * m[rank][c] } }
                }
                rank += 1
            }
            return rank
        }
        let rows = equations.map { equation in (0..<unknowns).map { equation[$0] ?? 0 } }
        var unit = Array(repeating: 0.0, count: unknowns)
        unit[variable] = 1
        return rank(rows + [unit]) == rank(rows)
    }

    @Test func noSuppressedCellOfManyRandomClinicsIsFixedByTheirPublishedWeeks() {
        var generator = SeededGenerator(seed: 20_261_130)
        var checked = 0
        for _ in 0..<300 {
            let (opening, weeks) = randomClinic(using: &generator, withAges: true)
            let published = cells(weeks, opening: opening)

            // The unknowns: every suppressed cell, and the census before the first week when it is small.
            var index: [String: Int] = [:]
            var value: [String: Int] = [:]
            func term(_ name: String, _ cell: CellValue?, exact: Int) -> String {
                if cell == .suppressed, index[name] == nil { index[name] = index.count }
                value[name] = exact
                return name
            }
            var before = term("census@-1", Suppression.isSmall(opening) ? .suppressed : .count(opening), exact: opening)
            var equations: [[String: Double]] = []
            for (t, week) in weeks.enumerated() {
                let cells = published[t]
                let census = term("census@\(t)", cells["census"], exact: week.census)
                equations.append([census: 1, before: -1, term("admissions@\(t)", cells["admissions"], exact: week.admissions): -1,
                                  term("discharges@\(t)", cells["discharges"], exact: week.discharges): 1])
                var ages: [String: Double] = [census: -1]
                for (band, count) in zip(MetricsCatalogue.ageBands, week.ages) { ages[term("\(band.name)@\(t)", cells[band.name], exact: count)] = 1 }
                equations.append(ages)
                before = census
            }
            // Known cells are moved to the right-hand side; what stays relates the unknowns.
            let system = equations.map { equation in
                Dictionary(equation.compactMap { name, coefficient in index[name].map { ($0, coefficient) } }, uniquingKeysWith: +)
            }
            for (name, variable) in index {
                #expect(!determined(variable, by: system, unknowns: index.count),
                        "\(name) (\(value[name]!)) is fixed by the published weeks \(weeks.map { ($0.census, $0.admissions, $0.discharges) })")
                checked += 1
            }
        }
        #expect(checked > 1_000, "the clinics suppress enough cells to test")
    }

    @Test func theClinicsFiguresCarryTheWeekBeforesCensusAndBalance() async throws {
        let pair = try await FederationPair()
        let current = ISOWeek(containing: Date())
        let read = try await pair.clinic.database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id FROM facilities").map { row in
                try (0...FederationOutbox.backfillWeeks).map { back in
                    try CatalogueFigures(cipher: pair.clinic.cipher).read(facility: row["id"], week: current.back(back), in: db)
                }
            }
        }
        for weeks in read {
            for (later, earlier) in zip(weeks, weeks.dropFirst()) {
                #expect(later.openingCensus == earlier.counts["census"])
                #expect(later.openingCensus + later.counts["admissions"]! - later.counts["discharges"]! == later.counts["census"]!)
            }
        }
        #expect(read.contains { weeks in weeks.contains { $0.counts["admissions"]! > 0 } }, "the demo data admits someone in the reported weeks")
    }

    @Test func rollUpsAcrossClinicsKeepTheBalanceRule() async throws {
        // Clinic A: eight in care (suppressed), then twelve admitted. Clinic B: thirty in care both weeks.
        let pair = try await FederationPair()
        let peers = FederationPeers(appliance: pair.central)
        let second = ISOWeek(containing: Date()), first = second.back(1)
        for (index, weeks) in [[Week(census: 8, admissions: 0, discharges: 0), Week(census: 20, admissions: 12, discharges: 0)],
                               [Week(census: 30, admissions: 0, discharges: 0), Week(census: 30, admissions: 0, discharges: 0)]].enumerated() {
            let key = SigningKey.generate()
            let enrollment = try await peers.createEnrollment(pair.superAdmin, facilityName: "Clinic \(index)", origin: RequestOrigin())
            let clinicID = try await peers.redeem(code: enrollment.code, publicKey: key.publicKey, origin: RequestOrigin()).clinicID
            var before = weeks[0].census
            for (sequence, (week, figures)) in zip([first, second], weeks).enumerated() {
                var f = MetricsCatalogue.Figures()
                f.counts = ["census": figures.census, "admissions": figures.admissions, "discharges": figures.discharges, "age_35_44": figures.census]
                f.openingCensus = before
                before = figures.census
                let text = FederationPayload(clinicID: clinicID, sequence: sequence + 1, schemaVersion: 2, week: week,
                                             facilities: [.init(ref: "facility", name: "Facility \(index)", cells: Suppression.cells(f))]).canonicalText
                _ = try await FederationIngest(appliance: pair.central).receive(clinicID: clinicID, payload: text, signature: key.sign(Array(text.utf8)),
                                                                                origin: RequestOrigin())
            }
        }
        let rollups = FederationRollups(appliance: pair.central)
        func value(_ metric: String, _ week: ISOWeek) async throws -> CellValue? {
            try await rollups.rollups(pair.superAdmin, metric: metric, from: week.start, to: week.start).first?.value
        }
        #expect(try await value("census", first) == .suppressed)
        #expect(try await value("census", second) == .count(50))
        // The attack: census(1) = census(2) - admissions(2) + discharges(2), minus clinic B's shown census, is clinic A's.
        let admissions = try await value("admissions", second), discharges = try await value("discharges", second)
        if case .count(let a)? = admissions, case .count(let d)? = discharges {
            Issue.record("the roll-ups give clinic A's first census back: \(50 - a + d - 30)")
        }
        #expect(admissions == .suppressed)
    }

    // MARK: Rates whose denominators the balance describes

    @Test func theCompletionRateCannotPinASuppressedCensus() {
        // Twelve admitted on the Monday into an empty facility; two leave later in the week, ten stay (suppressed).
        // Days in care: 7 for each of the ten, 6 for each of the two leaving on Sunday = 82; 41 check-in days.
        var f = MetricsCatalogue.Figures()
        for metric in MetricsCatalogue.metrics where metric.kind == .count { f.counts[metric.name] = 0 }
        f.counts["census"] = 10
        f.counts["admissions"] = 12
        f.counts["discharges"] = 2
        f.counts["check_ins"] = 41
        f.counts["mood_7_10"] = 41
        f.patientsInCare = 12
        f.daysInCare = 82
        let c = Dictionary(uniqueKeysWithValues: Suppression.cells(f).map { ($0.metric, $0.value) })
        #expect(c["census"] == .suppressed && c["admissions"] == .suppressed && c["check_ins"] == .count(41))
        // The attack: days in care = check-in days / rate; a census of c keeps c patients 7 days and the other 12 - c
        // between 1 and 6, and a suppressed census is at most 10: with the twelve admissions known (a roll-up, or an
        // older rule that showed them), only one census fits 82 days.
        if case .number(let rate) = c["check_in_completion_rate"] {
            let days = Int((41 * 100 / rate).rounded())
            let fits = (1...10).filter { census in (7 * census + (12 - census))...(7 * census + 6 * (12 - census)) ~= days }
            Issue.record("a shown completion rate of \(rate) gives \(days) days in care, which only a census of \(fits) fits")
        }
        #expect(c["check_in_completion_rate"] == .suppressed)
    }

    @Test func theAttendanceRateIsSuppressedWithTheBalance() {
        // Patients in care (the rate's denominator) are the census plus those discharged after the Monday: with the
        // census shown, a denominator read off the rate (11 of 20 attending) would give the suppressed discharges back.
        var f = MetricsCatalogue.Figures()
        for metric in MetricsCatalogue.metrics where metric.kind == .count { f.counts[metric.name] = 0 }
        f.openingCensus = 20
        f.counts["census"] = 17
        f.counts["discharges"] = 3
        f.patientsInCare = 20
        f.meetingAttendees = 11
        let c = Dictionary(uniqueKeysWithValues: Suppression.cells(f).map { ($0.metric, $0.value) })
        #expect(c["census"] == .count(17) && c["discharges"] == .suppressed)
        #expect(c["meeting_attendance_rate"] == .suppressed)
        // With the balance shown in full the rate is shown.
        f.counts["discharges"] = 0
        f.counts["census"] = 20
        let shown = Dictionary(uniqueKeysWithValues: Suppression.cells(f).map { ($0.metric, $0.value) })
        #expect(shown["meeting_attendance_rate"] == .number(55))
    }
}
