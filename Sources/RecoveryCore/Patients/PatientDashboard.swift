import Foundation
import GRDB

/// The counselor's view of one patient, from the `patient_dashboard_summary`
/// view plus the recent mood trend. Fields without data yet are nil, never
/// missing.
public struct PatientDashboard: Sendable, Equatable {
    public struct MoodPoint: Sendable, Equatable {
        public var date: String
        public var mood: Int
    }

    public var patientID: String
    public var status: String
    public var levelOfCare: String?
    public var daysSober: Int?
    public var lastCheckInAt: String?
    public var latestMood: Int?
    public var averageMood7Days: Double?
    public var averageCraving7Days: Double?
    public var checkIns7Days: Int
    public var moodTrend: [MoodPoint]
    public var cravingsThisWeek: Int
    public var activeGoals: Int
    public var completedGoals: Int
    public var meetings30Days: Int
    /// Arrives with medication tracking; nil until there are scheduled doses.
    public var medicationAdherence: Double?
    public var openFlags: Int
    public var openCrisisAlerts: Int
    public var riskScore: Double?
    public var riskLevel: String?

    public static func load(_ patientID: String, in db: Database) throws -> PatientDashboard? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT d.*, f.timezone, p.sobriety_date FROM patient_dashboard_summary d
            JOIN patients p ON p.id = d.patient_id JOIN facilities f ON f.id = d.facility_id
            WHERE d.patient_id = ?
            """), arguments: [patientID]) else { return nil }
        let trend = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT local_date, mood FROM patient_check_ins
            WHERE patient_id = ? AND deleted_at IS NULL ORDER BY checked_in_at DESC LIMIT 14
            """), arguments: [patientID]).map { MoodPoint(date: $0["local_date"], mood: $0["mood"]) }.reversed()
        let adherence = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT count(*) AS total, sum(status IN ('taken', 'late')) AS taken FROM medication_doses
            WHERE patient_id = ? AND scheduled_for >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-30 days')
            """), arguments: [patientID])
        let total: Int = adherence?["total"] ?? 0
        let sobriety: String? = row["sobriety_date"]
        return PatientDashboard(
            patientID: patientID, status: row["status"], levelOfCare: row["level_of_care"],
            daysSober: sobriety.flatMap { CalendarDate.days(from: $0, to: CalendarDate.today(in: row["timezone"])) },
            lastCheckInAt: row["last_check_in_at"], latestMood: row["latest_mood"],
            averageMood7Days: row["avg_mood_7d"], averageCraving7Days: row["avg_craving_7d"],
            checkIns7Days: row["check_ins_7d"] ?? 0, moodTrend: Array(trend), cravingsThisWeek: row["cravings_7d"] ?? 0,
            activeGoals: row["active_goals"] ?? 0, completedGoals: row["completed_goals"] ?? 0,
            meetings30Days: row["meetings_30d"] ?? 0,
            medicationAdherence: total > 0 ? Double(adherence?["taken"] as Int? ?? 0) / Double(total) : nil,
            openFlags: row["open_flags"] ?? 0, openCrisisAlerts: row["open_crisis_alerts"] ?? 0,
            riskScore: row["latest_risk_score"], riskLevel: row["latest_risk_level"])
    }
}

extension PatientDirectory {
    public func dashboard(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws -> PatientDashboard {
        try await readAuthorized(identity, patientID, .patientsReadClinical, action: "patient.dashboard", origin: origin) { db, _ in
            guard let dashboard = try PatientDashboard.load(patientID, in: db) else { throw AccessError.notFound }
            return dashboard
        }
    }
}
