import Foundation
import GRDB
import Synchronization

/// Relapse-risk scores kept as history in `risk_scores`: recomputed from a
/// patient's records (`RiskModel`), a new row only when the score or a
/// factor changed. A score that crosses the facility's `risk_flag_threshold`
/// from below raises one `risk` flag for the care team (none while an earlier
/// one is still open); nothing else happens automatically.
public struct RiskScores: Sendable {
    /// The record tables whose changes call for a new score.
    static let recordTables = ["patient_check_ins", "patient_cravings", "meeting_attendance", "medication_doses"]

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    /// What one recomputation did.
    public struct Outcome: Sendable, Equatable {
        public var scoreID: String?
        public var flagID: String?
    }

    /// Recomputes one patient's score as of `now`; stores it when it differs
    /// from the latest, and raises the flag on a crossing. Answers the new
    /// score's id (nil: unchanged) and the flag's, appending its event.
    static func recompute(facilityID: String, patientID: String, now: Date, in db: Database,
                          events: inout [RealtimeEvent]) throws -> Outcome {
        let activity = try PatientActivity.load(facilityID: facilityID, patientID: patientID, now: now, in: db)
        let result = RiskModel.score(activity)
        let factors = JSONValue.array(result.factors.map(\.json)).canonicalText
        let latest = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT score, factors FROM risk_scores WHERE facility_id = ? AND patient_id = ? ORDER BY computed_at DESC, id DESC LIMIT 1
            """), arguments: [facilityID, patientID])
        if let latest, latest["score"] as Double == result.score, latest["factors"] as String == factors { return Outcome() }
        let id = RowID.make()
        try db.cachedStatement(sql: """
            INSERT INTO risk_scores (id, facility_id, patient_id, score, level, factors, model_version, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [id, facilityID, patientID, result.score, result.level, factors, RiskModel.version, Timestamp.string(now)])
        let threshold = Double(try RecoverySettings.load(facilityID: facilityID, in: db).riskFlagThreshold)
        let previous: Double? = latest?["score"]
        guard result.score >= threshold, (previous ?? 0) < threshold,
              try Bool.fetchOne(db.cachedStatement(sql: """
                  SELECT EXISTS (SELECT 1 FROM patient_flags WHERE facility_id = ? AND patient_id = ? AND kind = 'risk' AND status <> 'resolved')
                  """), arguments: [facilityID, patientID]) == false
        else { return Outcome(scoreID: id) }
        let raised = try FlagRules.raise(["risk"], table: "risk_scores", recordID: id, facilityID: facilityID, patientID: patientID, in: db)
        for flag in raised {
            events.append(try EventFeed.append(RealtimeEvent(kind: .patientFlagged, facilityID: facilityID, patientID: patientID,
                                                             subjectID: flag.id, data: ["flag_kind": flag.kind]), in: db))
        }
        return Outcome(scoreID: id, flagID: raised.first?.id)
    }

    /// Recomputes the given patients in one transaction and publishes the
    /// flags raised; answers how many scores were stored.
    @discardableResult
    public func recompute(_ patients: [(facilityID: String, patientID: String)], now: Date = Date()) async throws -> Int {
        let (stored, events) = try await appliance.database.pool.write { db -> (Int, [RealtimeEvent]) in
            var events: [RealtimeEvent] = [], stored = 0
            for p in patients where try Self.recompute(facilityID: p.facilityID, patientID: p.patientID, now: now, in: db, events: &events).scoreID != nil {
                stored += 1
            }
            return (stored, events)
        }
        appliance.events.publish(events)
        return stored
    }

    /// Every live, active patient of the box.
    public func activePatients() async throws -> [(facilityID: String, patientID: String)] {
        try await appliance.database.read { db in
            try Row.fetchAll(db, sql: "SELECT facility_id, id FROM patients WHERE deleted_at IS NULL AND status = 'active' ORDER BY facility_id, id")
                .map { (facilityID: $0[0], patientID: $0[1]) }
        }
    }

    // MARK: Reading

    static func json(_ row: Row) -> JSONValue {
        let factors = (try? JSONParser.parse((row["factors"] as String).utf8)) ?? .array([])
        return .object(["id": .string(row["id"]), "score": .number(row["score"]), "level": .string(row["level"]), "factors": factors,
                        "intercept": .number(RiskModel.intercept), "model_version": .string(row["model_version"]),
                        "computed_at": .string(row["computed_at"])])
    }

    /// The patient's latest score (null before the first), with the facility's threshold.
    public func latest(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws -> JSONValue {
        try await PatientDirectory(appliance: appliance).readAuthorized(identity, patientID, .patientsReadClinical, action: "patient.risk",
                                                                          origin: origin) { db, granted in
            let row = try Row.fetchOne(db, sql: """
                SELECT id, score, level, factors, model_version, computed_at FROM risk_scores
                WHERE facility_id = ? AND patient_id = ? ORDER BY computed_at DESC, id DESC LIMIT 1
                """, arguments: [granted.facilityID, patientID])
            let threshold = try RecoverySettings.load(facilityID: granted.facilityID, in: db).riskFlagThreshold
            return .object(["risk": row.map(Self.json) ?? .null, "flag_threshold": .integer(threshold)])
        }
    }

    /// The patient's scores, newest first (at most `limit`), optionally from/to dates (UTC, inclusive).
    public func history(_ identity: Identity, patientID: String, from: String?, to: String?, limit: Int,
                        origin: RequestOrigin) async throws -> JSONValue {
        try await PatientDirectory(appliance: appliance).readAuthorized(identity, patientID, .patientsReadClinical, action: "patient.risk_history",
                                                                          origin: origin) { db, granted in
            var sql = "SELECT id, score, level, factors, model_version, computed_at FROM risk_scores WHERE facility_id = ? AND patient_id = ?"
            var arguments: StatementArguments = [granted.facilityID, patientID]
            if let from { sql += " AND computed_at >= ?"; arguments += [from + "T00:00:00.000Z"] }
            if let to { sql += " AND computed_at < ?"; arguments += [CalendarDate.string(julianDay: CalendarDate.julianDay(to)! + 1) + "T00:00:00.000Z"] }
            sql += " ORDER BY computed_at DESC, id DESC LIMIT ?"
            arguments += [limit]
            return .object(["data": .array(try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.json))])
        }
    }
}

/// Keeps scores current without slowing writes: every few seconds it
/// recomputes the patients whose records changed since its last look (read
/// from the change feed, `sync_changes`), and every patient once an hour,
/// since missed check-ins and time since admission change with no record.
public final class RiskWatch: Sendable {
    public static let fullPassInterval: TimeInterval = 3_600

    let appliance: Appliance
    private let state = Mutex<(seq: Int64, lastFullPass: Date?)>((0, nil))

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    public func tick(now: Date = Date()) async throws {
        let scores = RiskScores(appliance: appliance)
        let (mark, lastFull) = state.withLock { ($0.seq, $0.lastFullPass) }
        let top = try await appliance.database.read { db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM sync_changes") ?? 0 }
        if lastFull.map({ now.timeIntervalSince($0) >= Self.fullPassInterval }) ?? true {
            try await scores.recompute(try await scores.activePatients(), now: now)
            state.withLock { $0 = (top, now) }
            return
        }
        guard top > mark else { return }
        let changed = try await appliance.database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT DISTINCT c.facility_id, c.patient_id FROM sync_changes c
                JOIN patients p ON p.facility_id = c.facility_id AND p.id = c.patient_id AND p.deleted_at IS NULL
                WHERE c.seq > ? AND c.seq <= ? AND c.record_type IN (\(RiskScores.recordTables.map { "'\($0)'" }.joined(separator: ", ")))
                """, arguments: [mark, top]).map { (facilityID: $0[0] as String, patientID: $0[1] as String) }
        }
        if !changed.isEmpty { try await scores.recompute(changed, now: now) }
        state.withLock { $0.seq = top }
    }
}
