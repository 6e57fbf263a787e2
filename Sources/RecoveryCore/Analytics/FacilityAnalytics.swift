import Foundation
import GRDB

/// Facility-wide figures for its administrators (`facility.reports`): the
/// staff's workload and the weekly metrics with census and occupancy. Ids,
/// counts and means only, from the schema's views; the access decision and
/// the read share one database read, and a refusal is audited.
public struct FacilityAnalytics: Sendable {
    /// The longest span one metrics request covers.
    public static let maxMetricsDays = 366

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    func decided<T: Sendable>(_ action: String, _ identity: Identity, _ facilityID: String, _ origin: RequestOrigin,
                              _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await appliance.database.read { db in
                try AccessPolicy.facility(identity, facilityID, for: .facilityReports, in: db)
                return try body(db)
            }
        } catch let error as AccessError {
            try await appliance.auditWriter.record(.denied(action, by: identity, resourceType: "facility", resourceID: facilityID, reason: error, origin))
            throw error
        }
    }

    /// Decides access alone, before a route checks its parameters, so a caller
    /// who may not reach the facility learns nothing from a 422 (refusal audited).
    public func authorize(_ action: String, _ identity: Identity, facilityID: String, origin: RequestOrigin) async throws {
        try await decided(action, identity, facilityID, origin) { _ in () }
    }

    /// Each active staff member of the facility: caseload, open crisis alerts and flags on it, unread messages.
    public func workload(_ identity: Identity, facilityID: String, origin: RequestOrigin) async throws -> JSONValue {
        try await decided("facility.workload", identity, facilityID, origin) { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT staff_id, role, active_patients, open_crisis_alerts, open_flags, unread_messages FROM staff_workload
                WHERE facility_id = ? ORDER BY active_patients DESC, staff_id
                """, arguments: [facilityID])
            return .object(["data": .array(rows.map { row in
                .object(["staff_id": .string(row["staff_id"]), "role": .string(row["role"]), "active_patients": .integer(row["active_patients"]),
                         "open_crisis_alerts": .integer(row["open_crisis_alerts"]), "open_flags": .integer(row["open_flags"]),
                         "unread_messages": .integer(row["unread_messages"])])
            })])
        }
    }

    /// One row per ISO week (Monday start) from the week of `from` to the week
    /// of `to`, every week present: the `facility_weekly_metrics` figures
    /// (zero or null for a quiet week), and the census at the week's end
    /// (patients admitted and not yet discharged by its Sunday) with the
    /// occupancy against the facility's capacity.
    public func weeklyMetrics(_ identity: Identity, facilityID: String, from: String, to: String,
                              origin: RequestOrigin) async throws -> JSONValue {
        try await decided("facility.metrics", identity, facilityID, origin) { db in
            try Self.weeks(facilityID: facilityID, from: from, to: to, in: db)
        }
    }

    static func monday(_ day: Int) -> Int { day - (FacilityClock.weekday(day) - 1) }

    static func weeks(facilityID: String, from: String, to: String, in db: Database) throws -> JSONValue {
        let first = monday(CalendarDate.julianDay(from)!), last = monday(CalendarDate.julianDay(to)!)
        let capacity = try Int?.fetchOne(db, sql: "SELECT capacity FROM facilities WHERE id = ?", arguments: [facilityID]) ?? nil
        var byWeek: [String: Row] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT * FROM facility_weekly_metrics WHERE facility_id = ? AND week_start BETWEEN ? AND ?
            """, arguments: [facilityID, CalendarDate.string(julianDay: first), CalendarDate.string(julianDay: last)]) {
            byWeek[row["week_start"]] = row
        }
        var weeks: [JSONValue] = []
        for start in stride(from: first, through: last, by: 7) {
            let week = CalendarDate.string(julianDay: start), sunday = CalendarDate.string(julianDay: start + 6)
            let census = try Int.fetchOne(db.cachedStatement(sql: """
                SELECT count(*) FROM patients WHERE facility_id = ? AND deleted_at IS NULL AND admission_date IS NOT NULL
                  AND admission_date <= ? AND (discharge_date IS NULL OR discharge_date > ?)
                """), arguments: [facilityID, sunday, sunday]) ?? 0
            let row = byWeek[week]
            func count(_ column: String) -> JSONValue { .integer(row?[column] ?? 0) }
            func mean(_ column: String) -> JSONValue { (row?[column] as Double?).map(JSONValue.number) ?? .null }
            weeks.append(.object([
                "week_start": .string(week), "week_end": .string(sunday),
                "census": .integer(census),
                "occupancy_rate": capacity.flatMap { $0 > 0 ? JSONValue.number((Double(census) / Double($0) * 1000).rounded() / 1000) : nil } ?? .null,
                "active_patients": count("active_patients"), "check_ins": count("check_ins"), "avg_mood": mean("avg_mood"),
                "avg_craving": mean("avg_craving"), "cravings": count("cravings"), "lapses": count("lapses"),
                "new_admissions": count("new_admissions"), "discharges": count("discharges"), "meetings_attended": count("meetings_attended"),
            ]))
        }
        return .object(["facility_id": .string(facilityID), "capacity": capacity.map(JSONValue.integer) ?? .null, "data": .array(weeks)])
    }
}
