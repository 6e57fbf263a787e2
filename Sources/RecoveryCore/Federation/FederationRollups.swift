import Foundation
import GRDB

/// Central's roll-ups across every clinic, one per ISO week (or per reported
/// day of a current week): the sum of a count, or the weighted mean of a
/// rate, mean or median. A roll-up over any
/// suppressed contribution is itself `suppressed` (it reports only how many
/// facilities and clinics contributed): otherwise the total minus every other
/// facility's shown cell would give the suppressed one back.
public struct FederationRollups: Sendable {
    let appliance: Appliance

    public init(appliance: Appliance) { self.appliance = appliance }

    public struct Rollup: Sendable, Equatable {
        public let metric: String
        public let period: String
        public let periodStart: String
        public let value: CellValue
        /// Facilities with a cell for the period, the clinics they belong to, and how many of those cells are suppressed.
        public let facilities: Int
        public let clinics: Int
        public let suppressedFacilities: Int
    }

    /// The count each facility's rate, mean or median is weighted by (the nearest one a payload carries).
    public static let weights: [String: String] = [
        "check_in_completion_rate": "census",
        "craving_mean_intensity": "cravings_logged",
        "meeting_attendance_rate": "census",
        "medication_adherence_rate": "census",
        "crisis_ack_median_minutes": "crisis_alerts_acknowledged",
    ]

    public func rollups(_ identity: Identity, metric: String, granularity: FederationPeriod.Granularity = .week,
                        from: String?, to: String?) async throws -> [Rollup] {
        try FederationPeers.requireCentral(appliance)
        try AccessPolicy.require(identity, .federationCentral)
        guard let kind = MetricsCatalogue.kind(of: metric) else {
            throw FederationError.invalid(field: "metric", issue: "must be one of " + MetricsCatalogue.metrics.map(\.name).joined(separator: ", "))
        }
        let weight = Self.weights[metric]
        var conditions = ["c.metric IN (?, ?)", "c.granularity = ?"]
        var arguments: StatementArguments = [metric, weight ?? metric, granularity.rawValue]
        if let from { conditions.append("c.period_start >= ?"); arguments += [from] }
        if let to { conditions.append("c.period_start <= ?"); arguments += [to] }
        let query = arguments
        let rows = try await appliance.database.pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT c.period_start, c.period, c.facility_id, f.peer_id, c.metric, c.value, c.suppressed
                FROM federation_metric_cells c JOIN federation_facilities f ON f.id = c.facility_id
                WHERE \(conditions.joined(separator: " AND ")) ORDER BY c.period_start, c.facility_id
                """, arguments: query)
        }
        var weeks: [String: (period: String, cells: [String: Row], weights: [String: Row], clinics: [String: String])] = [:]
        for row in rows {
            let start: String = row["period_start"], facility: String = row["facility_id"], name: String = row["metric"]
            var week = weeks[start] ?? (row["period"], [:], [:], [:])
            if name == metric { week.cells[facility] = row; week.clinics[facility] = row["peer_id"] }
            if name == weight { week.weights[facility] = row }
            weeks[start] = week
        }
        return weeks.keys.sorted().compactMap { start in
            let week = weeks[start]!
            guard !week.cells.isEmpty else { return nil }
            let suppressed = week.cells.values.filter { $0["suppressed"] as Bool }.count
            let value: CellValue
            if suppressed > 0 {
                value = .suppressed
            } else if kind == .count {
                value = .count(week.cells.values.reduce(0) { $0 + ((($1["value"]) as Int?) ?? 0) })
            } else {
                value = Self.weightedMean(week.cells, weights: week.weights)
            }
            return Rollup(metric: metric, period: week.period, periodStart: start, value: value, facilities: week.cells.count,
                          clinics: Set(week.clinics.values).count, suppressedFacilities: suppressed)
        }
    }

    /// The mean of the facilities' values weighted by their weight cells; `suppressed`
    /// when a needed weight is; `null` when no facility has a value with weight.
    static func weightedMean(_ cells: [String: Row], weights: [String: Row]) -> CellValue {
        var total = 0.0, weightSum = 0.0
        for (facility, cell) in cells {
            guard let value = cell["value"] as Double? else { continue }
            guard let weightRow = weights[facility] else { continue }
            if weightRow["suppressed"] as Bool { return .suppressed }
            let weight = Double((weightRow["value"] as Int?) ?? 0)
            total += value * weight
            weightSum += weight
        }
        guard weightSum > 0 else { return CellValue.none }
        return .number((total / weightSum * 10).rounded() / 10)
    }
}
