import Foundation

/// One reported figure: a count, a rate, mean or median, `suppressed`, or
/// `null` (a rate, mean or median without a denominator).
public enum CellValue: Sendable, Equatable {
    case count(Int)
    case number(Double)
    case suppressed
    case none

    public var json: JSONValue {
        switch self {
        case .count(let value): return .integer(value)
        case .number(let value): return .number(value)
        case .suppressed: return .string("suppressed")
        case .none: return .null
        }
    }
}

/// Small-cell suppression (CMS cell-size suppression policy: no cell of 1 to
/// 10; zero may be shown), with complementary suppression so a suppressed
/// cell cannot be recovered from the others:
/// - the balance: the period before's census + admissions - discharges = this
///   period's census. Once any cell of a balance is suppressed (either census,
///   or a movement), both of this period's movements are. A census is suppressed
///   only when it is small itself, so the period before's census is suppressed
///   exactly when its own count is small, which this period's figures carry
///   (`openingCensus`), and a period already sent never needs re-sending. Why
///   both movements and not one: a suppressed census is known to lie in 1 to
///   10, so one equation with two unknowns can still have a single answer within
///   those bounds (20 shown, then no admissions and 10 discharged leaves a census
///   of exactly 10; two suppressed censuses with shown movements give their
///   difference, which 1 and 10 pin at ±9). A suppressed movement is not known
///   to be small (it may be suppressed only because of its balance), so with
///   both suppressed the balance bounds nothing: every census from 1 to 10
///   fits every neighbour, forward or backward. Nor does the choice of which
///   movement to suppress tell anything, as there is none to make;
/// - a distribution's buckets add up to its total: once any of them or the
///   total is suppressed, at least two buckets are, so neither "total minus
///   the others" nor the shown buckets' sum gives one back (the age bands add
///   up to the census: a small census suppresses two bands with it);
/// - a rate, mean or median is suppressed when its numerator or any of its
///   denominators is a small or suppressed cell (a percentage of a known total
///   gives the count back). The completion and attendance rates' denominators
///   (days in care, patients in care) follow from who was in care when, which
///   the balance describes: both are suppressed with any cell of the balance
///   (days in care can pin a suppressed census between the shown admissions and
///   its top of 10). The craving mean (an unpublished intensity sum over the
///   cravings cell), the adherence rate (doses, unpublished) and the median
///   minutes (an order statistic) give no published cell back.
///
/// Days of the current week (`days(week:days:)`) follow the same rules each,
/// their balance opening with the day before's census, and one more across the
/// week and its days: the week's admissions, discharges and other event counts
/// are the sums of its days', and its census (and the age bands, high-risk
/// patients and caseloads, counted at its end) is Sunday's. So the cells are
/// taken in linked groups: the balance with the age bands, each distribution
/// with its total, and every other count alone. When any cell of a group is
/// suppressed in the week or in any of its days, that group is suppressed in
/// every day of the week, and with it every rate that depends on it (its
/// `null` too, which tells that nobody was in care). Why that
/// is enough: a group then shows nothing in the days, so its only published
/// cells are the week's, which the weekly rules protect; a group shown in the
/// days holds no suppressed cell anywhere in the week, so there is nothing in
/// it to recover, and every relation between groups (a rate's numerator and
/// denominators) is cut by suppressing the rate. Monday's balance opens with
/// the week before's census, so a small one suppresses the balance group of
/// every day of the week. The weekly cells themselves are as without days.
public enum Suppression {
    public static let smallCells = 1...10

    /// The balance of a period: the period before's census (`Figures.openingCensus`) + admissions - discharges = census.
    static let balance = (closing: "census", movements: ["admissions", "discharges"])

    public static func isSmall(_ count: Int) -> Bool { smallCells.contains(count) }

    /// The counts a rate, mean or median gives back with its value: it is suppressed with any of them.
    static let rateDependencies: [String: [String]] = [
        "check_in_completion_rate": ["check_ins", balance.closing] + balance.movements,
        "craving_mean_intensity": ["cravings_logged"],
        "meeting_attendance_rate": [balance.closing] + balance.movements,
        "crisis_ack_median_minutes": ["crisis_alerts_acknowledged"],
    ]

    /// Counts tied across a week and its days by a sum or the balance: the balance with the age
    /// bands (they add up to the census), each other distribution with its total, every other count alone.
    static func linkedGroups(version: Int = MetricsCatalogue.schemaVersion) -> [[String]] {
        let counts = MetricsCatalogue.metrics(version: version).filter { $0.kind == .count }.map(\.name)
        var groups: [[String]] = [[balance.closing] + balance.movements]
        for distribution in MetricsCatalogue.distributions {
            let members = [distribution.total] + distribution.buckets
            if let index = groups.firstIndex(where: { !Set($0).isDisjoint(with: members) }) {
                groups[index] += members.filter { !groups[index].contains($0) }
            } else { groups.append(members) }
        }
        let grouped = Set(groups.joined())
        groups += counts.filter { !grouped.contains($0) }.map { [$0] }
        return groups.map { $0.filter(counts.contains) }.filter { !$0.isEmpty }
    }

    /// The cells of each day of the current week (in the order given), from the
    /// week's figures and the days': each day by the period rules, then every
    /// linked group holding a suppressed cell in the week or any day suppressed
    /// in all the days, with the rates that depend on it.
    public static func days(week: MetricsCatalogue.Figures, days: [MetricsCatalogue.Figures],
                            version: Int = MetricsCatalogue.schemaVersion) -> [[(metric: String, value: CellValue)]] {
        let weekly = Dictionary(uniqueKeysWithValues: cells(week, version: version).map { ($0.metric, $0.value) })
        var daily = days.map { cells($0, version: version) }
        let suppressedAnywhere = Set(daily.flatMap { $0.filter { $0.value == .suppressed }.map(\.metric) })
            .union(weekly.filter { $0.value == .suppressed }.keys)
        let hidden = Set(linkedGroups(version: version).filter { !suppressedAnywhere.isDisjoint(with: $0) }.joined())
        for index in daily.indices {
            daily[index] = daily[index].map { cell in
                if hidden.contains(cell.metric) { return (cell.metric, .suppressed) }
                // `null` too: a rate without a denominator tells that nobody was in care.
                if let needs = rateDependencies[cell.metric], !hidden.isDisjoint(with: needs) { return (cell.metric, .suppressed) }
                return cell
            }
        }
        return daily
    }

    /// A period's cells with every value withheld: what replaces a finished week's days.
    public static func withdrawn(version: Int = MetricsCatalogue.schemaVersion) -> [(metric: String, value: CellValue)] {
        MetricsCatalogue.metrics(version: version).map { (metric: $0.name, value: .suppressed) }
    }

    /// The cells of one facility's week in the order of the catalogue's `version`.
    public static func cells(_ f: MetricsCatalogue.Figures, version: Int = MetricsCatalogue.schemaVersion) -> [(metric: String, value: CellValue)] {
        let catalogue = MetricsCatalogue.metrics(version: version)
        var values: [String: CellValue] = [:]
        for metric in catalogue where metric.kind == .count {
            let count = f.counts[metric.name] ?? 0
            values[metric.name] = isSmall(count) ? .suppressed : .count(count)
        }
        suppressBalance(f, values: &values)
        for distribution in MetricsCatalogue.distributions where ([distribution.total] + distribution.buckets).allSatisfy({ values[$0] != nil }) {
            suppressComplements(distribution, counts: f.counts, values: &values)
        }
        func ratio(_ name: String, _ numerator: Int, _ denominators: [Int], suppressedWith: [String] = [], _ value: () -> Double) {
            guard catalogue.contains(where: { $0.name == name }) else { return }
            if denominators.contains(0) { values[name] = CellValue.none }
            else if isSmall(numerator) || denominators.contains(where: isSmall) || suppressedWith.contains(where: { values[$0] == .suppressed }) {
                values[name] = .suppressed
            } else { values[name] = .number(round(value() * 10) / 10) }
        }
        let checkIns = f.counts["check_ins"] ?? 0
        ratio("check_in_completion_rate", checkIns, [f.patientsInCare, f.daysInCare],
              suppressedWith: rateDependencies["check_in_completion_rate"]!) {
            min(100, Double(checkIns) * 100 / Double(f.daysInCare))
        }
        let cravings = f.counts["cravings_logged"] ?? 0
        ratio("craving_mean_intensity", cravings, [cravings], suppressedWith: rateDependencies["craving_mean_intensity"]!) { Double(f.intensitySum) / Double(cravings) }
        ratio("meeting_attendance_rate", f.meetingAttendees, [f.patientsInCare], suppressedWith: rateDependencies["meeting_attendance_rate"]!) {
            min(100, Double(f.meetingAttendees) * 100 / Double(f.patientsInCare))
        }
        ratio("medication_adherence_rate", f.dosesTaken, [f.dosesScheduled]) { Double(f.dosesTaken) * 100 / Double(f.dosesScheduled) }
        let acknowledged = f.acknowledgeMinutes.count
        ratio("crisis_ack_median_minutes", acknowledged, [acknowledged], suppressedWith: rateDependencies["crisis_ack_median_minutes"]!) {
            median(f.acknowledgeMinutes)
        }
        return catalogue.map { (metric: $0.name, value: values[$0.name] ?? CellValue.none) }
    }

    /// Suppresses both of this period's movements once any cell of its balance
    /// (the opening census counted by its own count) is suppressed.
    static func suppressBalance(_ f: MetricsCatalogue.Figures, values: inout [String: CellValue]) {
        let anySuppressed = isSmall(f.openingCensus) || ([balance.closing] + balance.movements).contains { values[$0] == .suppressed }
        guard anySuppressed else { return }
        for movement in balance.movements { values[movement] = .suppressed }
    }

    /// Once any bucket or the total is suppressed, suppresses further buckets
    /// (the smallest non-zero first, then zeros) until at least two are.
    static func suppressComplements(_ distribution: MetricsCatalogue.Distribution, counts: [String: Int], values: inout [String: CellValue]) {
        let buckets = distribution.buckets
        guard values[distribution.total] == .suppressed || buckets.contains(where: { values[$0] == .suppressed }) else { return }
        let candidates = buckets.enumerated()
            .filter { values[$0.element] != .suppressed }
            .sorted { a, b in
                let x = counts[a.element] ?? 0, y = counts[b.element] ?? 0
                return ((x == 0 ? 1 : 0), x, a.offset) < ((y == 0 ? 1 : 0), y, b.offset)
            }
            .map(\.element)
        var suppressedCount = buckets.filter { values[$0] == .suppressed }.count
        for name in candidates where suppressedCount < 2 {
            values[name] = .suppressed
            suppressedCount += 1
        }
    }

    /// Whether a payload's cells keep the distribution rules (central checks every payload it receives).
    static func keepsDistributions(_ cells: [String: CellValue]) -> Bool {
        MetricsCatalogue.distributions.allSatisfy { distribution in
            guard let total = cells[distribution.total], distribution.buckets.allSatisfy({ cells[$0] != nil }) else { return true }
            let suppressed = distribution.buckets.filter { cells[$0] == .suppressed }.count
            return (total != .suppressed && suppressed == 0) || suppressed >= 2
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
