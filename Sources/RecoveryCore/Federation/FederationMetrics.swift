import Foundation
import GRDB

/// What the super admin reads on central: the clinics' facilities with their
/// latest week, and metric cells by facility, metric and period (weeks, or
/// the days clinics report of their current week). A suppressed
/// cell is shown as `suppressed`, never as a number.
public struct FederationMetrics: Sendable {
    let appliance: Appliance

    public init(appliance: Appliance) { self.appliance = appliance }

    public struct Cell: Sendable {
        public let facilityID: String
        public let metric: String
        public let granularity: String
        public let period: String
        public let periodStart: String
        public let value: CellValue
        public let sequence: Int
        public let schemaVersion: Int
        public let receivedAt: String
    }

    public struct Facility: Sendable {
        public let id: String
        public let clinicID: String
        public let name: String
        public let lastSeenAt: String
        public let latestPeriod: String?
        public let latest: [(metric: String, value: CellValue)]
    }

    public func facilities(_ identity: Identity) async throws -> [Facility] {
        try FederationPeers.requireCentral(appliance)
        try AccessPolicy.require(identity, .federationCentral)
        return try await appliance.database.read { db in
            // Every facility's latest week in one query, grouped by facility below.
            var latest: [String: [Cell]] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT c.* FROM federation_metric_cells c
                JOIN (SELECT facility_id, max(period_start) AS period_start FROM federation_metric_cells
                      WHERE granularity = 'week' GROUP BY facility_id) m
                  ON m.facility_id = c.facility_id AND m.period_start = c.period_start AND c.granularity = 'week'
                """) {
                let cell = Self.cell(row)
                latest[cell.facilityID, default: []].append(cell)
            }
            let order = Dictionary(uniqueKeysWithValues: MetricsCatalogue.metrics.enumerated().map { ($1.name, $0) })
            return try Row.fetchAll(db, sql: """
                SELECT f.id, f.peer_id, f.name, f.last_seen_at FROM federation_facilities f
                JOIN federation_peers p ON p.id = f.peer_id ORDER BY f.name, f.id
                """).map { row in
                let id: String = row["id"]
                let cells = (latest[id] ?? []).sorted { (order[$0.metric] ?? .max) < (order[$1.metric] ?? .max) }
                return Facility(id: id, clinicID: row["peer_id"], name: row["name"], lastSeenAt: row["last_seen_at"],
                                latestPeriod: cells.first?.period, latest: cells.map { (metric: $0.metric, value: $0.value) })
            }
        }
    }

    /// Cells of one granularity in period order; `from`/`to` are dates compared with each period's first day.
    public func cells(_ identity: Identity, facilityID: String?, metric: String?, granularity: FederationPeriod.Granularity = .week,
                      from: String?, to: String?, limit: Int) async throws -> [Cell] {
        try FederationPeers.requireCentral(appliance)
        try AccessPolicy.require(identity, .federationCentral)
        if let metric, !MetricsCatalogue.names.contains(metric) {
            throw FederationError.invalid(field: "metric", issue: "must be one of " + MetricsCatalogue.metrics.map(\.name).joined(separator: ", "))
        }
        var conditions = ["granularity = ?"]
        var arguments: StatementArguments = [granularity.rawValue]
        if let facilityID { conditions.append("facility_id = ?"); arguments += [facilityID] }
        if let metric { conditions.append("metric = ?"); arguments += [metric] }
        if let from { conditions.append("period_start >= ?"); arguments += [from] }
        if let to { conditions.append("period_start <= ?"); arguments += [to] }
        let filter = "WHERE " + conditions.joined(separator: " AND ")
        arguments += [limit]
        let query = arguments
        return try await appliance.database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM federation_metric_cells \(filter) ORDER BY period_start, facility_id, metric LIMIT ?",
                             arguments: query).map(Self.cell)
        }
    }

    static func cell(_ row: Row) -> Cell {
        let metric: String = row["metric"]
        let value: CellValue
        if row["suppressed"] as Bool { value = .suppressed }
        else if let n = row["value"] as Int?, MetricsCatalogue.kind(of: metric) == .count { value = .count(n) }
        else if let x = row["value"] as Double? { value = .number(x) }
        else { value = CellValue.none }
        return Cell(facilityID: row["facility_id"], metric: metric, granularity: row["granularity"], period: row["period"], periodStart: row["period_start"],
                    value: value, sequence: row["sequence"], schemaVersion: row["schema_version"], receivedAt: row["received_at"])
    }
}
