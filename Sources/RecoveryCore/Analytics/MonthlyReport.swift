import Foundation
import GRDB

/// A facility's monthly report: census and occupancy by week, engagement and
/// craving figures by week, a few sentences built from them, and one row per
/// active patient (their month in numbers and their latest risk level).
/// Gathered in one database read (`load`), drawn afterwards (`draw`).
public struct MonthlyReport: Sendable {
    public struct PatientRow: Sendable {
        public var number: String
        public var name: String
        public var checkInDays: Int
        public var meanMood: Double?
        public var cravings: Int
        public var lapses: Int
        public var meetings: Int
        public var risk: String?
    }

    public struct Week: Sendable {
        public var start: String
        public var census: Int
        public var occupancy: Double?
        public var activePatients: Int
        public var checkIns: Int
        public var avgMood: Double?
        public var avgCraving: Double?
        public var cravings: Int
        public var lapses: Int
        public var admissions: Int
        public var discharges: Int
        public var meetings: Int
    }

    public var facilityName: String
    public var month: String
    public var capacity: Int?
    public var generatedAt: String
    public var weeks: [Week] = []
    public var patients: [PatientRow] = []
    public var sentences: [String] = []
    /// The patients listed, for the audit entry.
    public var patientIDs: [String] = []

    /// The first and last day of `month` (YYYY-MM, years 1900 to 9999), nil when it is not such a month.
    public static func days(of month: String) -> (String, String)? {
        guard month.count == 7, CalendarDate.isValid(month + "-01"), let year = Int(month.prefix(4)), year >= 1900 else { return nil }
        let last = ["31", "30", "29", "28"].first { CalendarDate.isValid(month + "-" + $0) }!
        return (month + "-01", month + "-" + last)
    }

    static func load(facilityID: String, month: String, directory: PatientDirectory, in db: Database) throws -> MonthlyReport {
        let (from, to) = days(of: month)!
        let facility = try Row.fetchOne(db, sql: "SELECT name, capacity FROM facilities WHERE id = ?", arguments: [facilityID])!
        var report = MonthlyReport(facilityName: facility["name"], month: month, capacity: facility["capacity"], generatedAt: Timestamp.now())
        if case .array(let rows)? = try FacilityAnalytics.weeks(facilityID: facilityID, from: from, to: to, in: db)["data"] {
            report.weeks = rows.map { w in
                func int(_ k: String) -> Int { if case .integer(let v)? = w[k] { return v } else { return 0 } }
                func num(_ k: String) -> Double? { if case .number(let v)? = w[k] { return v } else if case .integer(let v)? = w[k] { return Double(v) } else { return nil } }
                func str(_ k: String) -> String { if case .string(let v)? = w[k] { return v } else { return "" } }
                return Week(start: str("week_start"), census: int("census"), occupancy: num("occupancy_rate"), activePatients: int("active_patients"),
                            checkIns: int("check_ins"), avgMood: num("avg_mood"), avgCraving: num("avg_craving"), cravings: int("cravings"),
                            lapses: int("lapses"), admissions: int("new_admissions"), discharges: int("discharges"), meetings: int("meetings_attended"))
            }
        }
        let fromTime = from + "T00:00:00.000Z", untilTime = CalendarDate.string(julianDay: CalendarDate.julianDay(to)! + 1) + "T00:00:00.000Z"
        let rows = try Row.fetchAll(db, sql: """
            SELECT p.id,
              (SELECT count(DISTINCT c.local_date) FROM patient_check_ins c WHERE c.facility_id = p.facility_id AND c.patient_id = p.id
                 AND c.deleted_at IS NULL AND c.local_date BETWEEN ?1 AND ?2) AS check_in_days,
              (SELECT avg(c.mood) FROM patient_check_ins c WHERE c.facility_id = p.facility_id AND c.patient_id = p.id
                 AND c.deleted_at IS NULL AND c.local_date BETWEEN ?1 AND ?2) AS mean_mood,
              (SELECT count(*) FROM patient_cravings r WHERE r.facility_id = p.facility_id AND r.patient_id = p.id
                 AND r.deleted_at IS NULL AND r.occurred_at >= ?3 AND r.occurred_at < ?4) AS cravings,
              (SELECT coalesce(sum(r.acted_on), 0) FROM patient_cravings r WHERE r.facility_id = p.facility_id AND r.patient_id = p.id
                 AND r.deleted_at IS NULL AND r.occurred_at >= ?3 AND r.occurred_at < ?4)
              + (SELECT coalesce(sum(c.used_since_last), 0) FROM patient_check_ins c WHERE c.facility_id = p.facility_id AND c.patient_id = p.id
                 AND c.deleted_at IS NULL AND c.local_date BETWEEN ?1 AND ?2) AS lapses,
              (SELECT count(*) FROM meeting_attendance m WHERE m.facility_id = p.facility_id AND m.patient_id = p.id
                 AND m.deleted_at IS NULL AND m.attended_at >= ?3 AND m.attended_at < ?4) AS meetings,
              (SELECT s.level FROM risk_scores s WHERE s.facility_id = p.facility_id AND s.patient_id = p.id
                 ORDER BY s.computed_at DESC LIMIT 1) AS risk
            FROM patients p WHERE p.facility_id = ?5 AND p.deleted_at IS NULL AND p.status = 'active'
            ORDER BY p.patient_number
            """, arguments: [from, to, fromTime, untilTime, facilityID])
        for row in rows {
            report.patientIDs.append(row["id"])
            let detail = try directory.loadDetail(row["id"], facilityID: facilityID, in: db)
            report.patients.append(PatientRow(number: detail.record.patientNumber, name: detail.record.lastName + ", " + detail.record.firstName,
                                              checkInDays: row["check_in_days"], meanMood: row["mean_mood"], cravings: row["cravings"],
                                              lapses: row["lapses"], meetings: row["meetings"], risk: row["risk"]))
        }
        report.sentences = sentences(report, days: CalendarDate.days(from: from, to: to)! + 1)
        return report
    }

    static func sentences(_ r: MonthlyReport, days: Int) -> [String] {
        var out: [String] = []
        let engaged = r.patients.filter { $0.checkInDays > 0 }.count
        let meanDays = Double(r.patients.reduce(0) { $0 + $1.checkInDays }) / Double(max(1, r.patients.count))
        out.append("\(engaged) of \(r.patients.count) active patients checked in at least once in \(r.month); on average a patient checked in on "
                   + "\(String(format: "%.1f", meanDays)) of \(days) days.")
        let cravings = r.patients.reduce(0) { $0 + $1.cravings }, lapses = r.patients.reduce(0) { $0 + $1.lapses }
        out.append("\(cravings) \(cravings == 1 ? "craving was" : "cravings were") logged and \(lapses) \(lapses == 1 ? "lapse" : "lapses") reported "
                   + "(check-ins reporting use and cravings acted on).")
        if let peak = r.weeks.max(by: { $0.census < $1.census }) {
            let occupancy = peak.occupancy.map { ", \(Int(($0 * 100).rounded())) % of the \(r.capacity ?? 0) licensed beds" } ?? ""
            out.append("The census peaked at \(peak.census) in the week of \(peak.start)\(occupancy).")
        }
        let high = r.patients.filter { $0.risk == "high" || $0.risk == "critical" }.count
        out.append("\(high) \(high == 1 ? "patient has" : "patients have") a high or critical latest relapse-risk score.")
        return out
    }

    public func draw(on canvas: PDFCanvas) -> Bool {
        canvas.paragraph("Monthly report \(month)", size: 18, bold: true, after: 2)
        canvas.paragraph(facilityName + (capacity.map { ", \($0) licensed beds" } ?? ""), size: 11, after: 0)
        canvas.paragraph("Generated \(generatedAt). Confidential: contains patient records protected by 42 CFR Part 2.", size: 8, after: 6)
        for sentence in sentences { canvas.paragraph("- " + sentence, size: 9.5, indent: 6, after: 1) }
        let labels = weeks.map { String($0.start.dropFirst(5)) }
        let maxCensus = Double(max(4, weeks.map(\.census).max() ?? 0, capacity ?? 0))
        canvas.barChart("Census at the end of each week (week starting)", labels: labels, values: weeks.map { Double($0.census) },
                        yRange: 0...maxCensus, ticks: [0, maxCensus], valueLabel: { String(Int($0)) })
        canvas.lineChart("Mean mood and craving by week", series: [
            PDFCanvas.Series(label: "Mood (1-10)", color: (0.16, 0.44, 0.75), values: weeks.map(\.avgMood)),
            PDFCanvas.Series(label: "Craving (0-10)", color: (0.80, 0.30, 0.20), values: weeks.map(\.avgCraving)),
        ], yRange: 0...10, ticks: [0, 2, 4, 6, 8, 10], firstLabel: weeks.first?.start ?? "", lastLabel: weeks.last?.start ?? "", height: 120)
        canvas.table(["Week", "Census", "Occ.", "Active", "Check-ins", "Mood", "Craving", "Cravings", "Lapses", "In", "Out", "Meetings"],
                     weeks.map { w in
                         [w.start, String(w.census), w.occupancy.map { "\(Int(($0 * 100).rounded())) %" } ?? "-", String(w.activePatients), String(w.checkIns),
                          w.avgMood.map { String(format: "%.1f", $0) } ?? "-", w.avgCraving.map { String(format: "%.1f", $0) } ?? "-",
                          String(w.cravings), String(w.lapses), String(w.admissions), String(w.discharges), String(w.meetings)]
                     }, widths: [54, 42, 34, 36, 50, 32, 44, 48, 38, 20, 26, 54])
        canvas.paragraph("Active patients", size: 12, bold: true, after: 0)
        canvas.table(["Number", "Name", "Check-in days", "Mood", "Cravings", "Lapses", "Meetings", "Risk"], patients.map { p in
            [p.number, p.name, String(p.checkInDays), p.meanMood.map { String(format: "%.1f", $0) } ?? "-", String(p.cravings), String(p.lapses),
             String(p.meetings), p.risk ?? "-"]
        }, widths: [60, 112, 72, 56, 48, 40, 52, 59])
        return canvas.finish()
    }
}
