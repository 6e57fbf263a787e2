import Foundation

/// One reported figure: a count, a rate or mean, `suppressed`, or `null`
/// (a rate or mean without a denominator).
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
/// - census, admissions and discharges are linked (last week's census +
///   admissions - discharges = this week's): one suppressed suppresses all three;
/// - a rate or mean is suppressed when its numerator or any of its
///   denominators is a small cell (a percentage of a known total gives the count back).
public enum Suppression {
    public static let smallCells = 1...10

    static let linked: [[String]] = [["census", "admissions", "discharges"]]

    public static func isSmall(_ count: Int) -> Bool { smallCells.contains(count) }

    /// The cells of one facility's week in catalogue order.
    public static func cells(_ f: MetricsCatalogue.Figures) -> [(metric: String, value: CellValue)] {
        var values: [String: CellValue] = [:]
        for metric in MetricsCatalogue.metrics where metric.kind == .count {
            let count = f.counts[metric.name] ?? 0
            values[metric.name] = isSmall(count) ? .suppressed : .count(count)
        }
        for group in linked where group.contains(where: { values[$0] == .suppressed }) {
            for name in group { values[name] = .suppressed }
        }
        let checkIns = f.counts["check_ins"] ?? 0
        if f.daysInCare == 0 {
            values["check_in_completion_rate"] = CellValue.none
        } else if isSmall(checkIns) || isSmall(f.patientsInCare) || isSmall(f.daysInCare) {
            values["check_in_completion_rate"] = .suppressed
        } else {
            values["check_in_completion_rate"] = .number(round(min(100, Double(checkIns) * 100 / Double(f.daysInCare)) * 10) / 10)
        }
        let cravings = f.counts["cravings_logged"] ?? 0
        if cravings == 0 {
            values["craving_mean_intensity"] = CellValue.none
        } else if isSmall(cravings) {
            values["craving_mean_intensity"] = .suppressed
        } else {
            values["craving_mean_intensity"] = .number(round(Double(f.intensitySum) * 10 / Double(cravings)) / 10)
        }
        return MetricsCatalogue.metrics.map { (metric: $0.name, value: values[$0.name] ?? CellValue.none) }
    }
}
