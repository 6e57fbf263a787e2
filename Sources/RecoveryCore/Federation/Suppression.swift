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
public enum Suppression {
    public static let smallCells = 1...10

    /// The balance of a period: the period before's census (`Figures.openingCensus`) + admissions - discharges = census.
    static let balance = (closing: "census", movements: ["admissions", "discharges"])

    public static func isSmall(_ count: Int) -> Bool { smallCells.contains(count) }

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
              suppressedWith: ["check_ins", balance.closing] + balance.movements) {
            min(100, Double(checkIns) * 100 / Double(f.daysInCare))
        }
        let cravings = f.counts["cravings_logged"] ?? 0
        ratio("craving_mean_intensity", cravings, [cravings], suppressedWith: ["cravings_logged"]) { Double(f.intensitySum) / Double(cravings) }
        ratio("meeting_attendance_rate", f.meetingAttendees, [f.patientsInCare], suppressedWith: [balance.closing] + balance.movements) {
            min(100, Double(f.meetingAttendees) * 100 / Double(f.patientsInCare))
        }
        ratio("medication_adherence_rate", f.dosesTaken, [f.dosesScheduled]) { Double(f.dosesTaken) * 100 / Double(f.dosesScheduled) }
        let acknowledged = f.acknowledgeMinutes.count
        ratio("crisis_ack_median_minutes", acknowledged, [acknowledged], suppressedWith: ["crisis_alerts_acknowledged"]) {
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
