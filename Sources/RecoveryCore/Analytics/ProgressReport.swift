import Foundation
import GRDB

/// A patient's progress report for a case review over `from`...`to` (local
/// dates): daily mood and craving, weekly meetings and medication adherence,
/// totals, the insights' sentences and the relapse-risk factors as of `to`.
/// Gathered in one database read (`load`), drawn afterwards (`draw`).
public struct ProgressReport: Sendable {
    public static let maxDays = 366

    public var facilityName: String
    public var patientName: String
    public var patientNumber: String
    public var levelOfCare: String?
    public var admissionDate: String?
    public var from: String
    public var to: String
    public var generatedAt: String
    /// Per day from `from` to `to`.
    public var mood: [Double?] = []
    public var craving: [Double?] = []
    /// Per week (Monday start) overlapping the period.
    public var weekStarts: [String] = []
    public var meetings: [Int] = []
    public var adherence: [Double?] = []
    public var totals: [(String, String)] = []
    public var insights: [PatientInsights.Insight] = []
    public var risk: RiskModel.Score

    static func load(_ detail: PatientDirectory.Detail, facilityID: String, from: String, to: String, in db: Database) throws -> ProgressReport {
        let patientID = detail.record.id
        let first = CalendarDate.julianDay(from)!, last = CalendarDate.julianDay(to)!
        let zone = try String.fetchOne(db, sql: "SELECT timezone FROM facilities WHERE id = ?", arguments: [facilityID]) ?? "UTC"
        let clock = FacilityClock(timeZone: zone)
        let facilityName = try String.fetchOne(db, sql: "SELECT name FROM facilities WHERE id = ?", arguments: [facilityID]) ?? ""
        let activity = try PatientActivity.load(facilityID: facilityID, patientID: patientID, asOf: last, in: db)
        var report = ProgressReport(
            facilityName: facilityName, patientName: detail.record.firstName + " " + detail.record.lastName, patientNumber: detail.record.patientNumber,
            levelOfCare: detail.record.levelOfCare, admissionDate: detail.record.admissionDate, from: from, to: to,
            generatedAt: Timestamp.now(), risk: RiskModel.score(activity))
        report.insights = PatientInsights(activity).all
        let key: StatementArguments = [facilityID, patientID]
        var moodByDay: [Int: (Int, Int)] = [:], cravingByDay: [Int: (Int, Int)] = [:]
        var checkIns = 0, used = 0
        try Row.fetchAll(db, sql: """
            SELECT local_date, mood, craving, used_since_last FROM patient_check_ins
            WHERE facility_id = ? AND patient_id = ? AND deleted_at IS NULL AND local_date BETWEEN ? AND ?
            """, arguments: key + [from, to]).forEach { row in
            guard let day = CalendarDate.julianDay(row[0]) else { return }
            checkIns += 1
            if row[3] as Bool { used += 1 }
            moodByDay[day, default: (0, 0)].0 += row[1]; moodByDay[day, default: (0, 0)].1 += 1
            if let c = row[2] as Int? { cravingByDay[day, default: (0, 0)].0 += c; cravingByDay[day, default: (0, 0)].1 += 1 }
        }
        // Times are read a day wider than the period (time zones), then placed on the facility's calendar.
        let fromTime = CalendarDate.string(julianDay: first - 1) + "T00:00:00.000Z", untilTime = CalendarDate.string(julianDay: last + 2) + "T00:00:00.000Z"
        func days(_ sql: String) throws -> [(Int, Row)] {
            try Row.fetchAll(db, sql: sql, arguments: key + [fromTime, untilTime]).compactMap { row in
                guard let time = Timestamp.parse(row[0]) else { return nil }
                let day = clock.day(of: time)
                return (first...last).contains(day) ? (day, row) : nil
            }
        }
        let cravings = try days("""
            SELECT occurred_at, intensity, acted_on FROM patient_cravings
            WHERE facility_id = ? AND patient_id = ? AND deleted_at IS NULL AND occurred_at >= ? AND occurred_at < ?
            """)
        for (day, row) in cravings { cravingByDay[day, default: (0, 0)].0 += row[1]; cravingByDay[day, default: (0, 0)].1 += 1 }
        let meetingDays = try days("""
            SELECT attended_at FROM meeting_attendance WHERE facility_id = ? AND patient_id = ? AND deleted_at IS NULL AND attended_at >= ? AND attended_at < ?
            """).map(\.0)
        let doses = try days("""
            SELECT scheduled_for, status FROM medication_doses WHERE facility_id = ? AND patient_id = ? AND deleted_at IS NULL
              AND scheduled_for IS NOT NULL AND scheduled_for >= ? AND scheduled_for < ?
            """).map { (day: $0.0, taken: ($0.1["status"] as String) != "skipped") }
        for day in first...last {
            report.mood.append(moodByDay[day].map { Double($0.0) / Double($0.1) })
            report.craving.append(cravingByDay[day].map { Double($0.0) / Double($0.1) })
        }
        for start in stride(from: FacilityAnalytics.monday(first), through: last, by: 7) {
            report.weekStarts.append(CalendarDate.string(julianDay: start))
            report.meetings.append(meetingDays.filter { $0 >= start && $0 < start + 7 }.count)
            let week = doses.filter { $0.day >= start && $0.day < start + 7 }
            report.adherence.append(week.isEmpty ? nil : Double(week.filter(\.taken).count) / Double(week.count))
        }
        let taken = doses.filter(\.taken).count
        report.totals = [
            ("Days in the period", String(last - first + 1)),
            ("Check-ins", String(checkIns)),
            ("Days with a check-in", String(moodByDay.count)),
            ("Cravings logged", String(cravings.count)),
            ("Reported use (check-ins) / cravings acted on", "\(used) / \(cravings.filter { $0.1["acted_on"] as Bool }.count)"),
            ("Meetings attended", String(meetingDays.count)),
            ("Scheduled doses taken", doses.isEmpty ? "none scheduled" : "\(taken) of \(doses.count) (\(PatientInsights.percent(taken, of: doses.count)) %)"),
        ]
        return report
    }

    /// Draws the report; answers false when the reader went away.
    public func draw(on canvas: PDFCanvas) -> Bool {
        canvas.paragraph("Progress report", size: 18, bold: true, after: 2)
        canvas.paragraph("\(patientName) (\(patientNumber)) - \(facilityName)", size: 11, after: 0)
        canvas.paragraph("Period \(from) to \(to); level of care \(levelOfCare ?? "not set"); admitted \(admissionDate ?? "not recorded")", size: 9, after: 0)
        canvas.paragraph("Generated \(generatedAt). Confidential: 42 CFR Part 2 protects these records; any further disclosure needs the patient's written consent.",
                         size: 8, after: 6)
        let firstLabel = from, lastLabel = to
        canvas.lineChart("Mood and craving by day", series: [
            PDFCanvas.Series(label: "Mood (1-10)", color: (0.16, 0.44, 0.75), values: mood),
            PDFCanvas.Series(label: "Craving (0-10)", color: (0.80, 0.30, 0.20), values: craving),
        ], yRange: 0...10, ticks: [0, 2, 4, 6, 8, 10], firstLabel: firstLabel, lastLabel: lastLabel)
        let weekLabels = weekStarts.map { String($0.dropFirst(5)) }
        canvas.barChart("Meetings attended by week (week starting)", labels: weekLabels, values: meetings.map(Double.init),
                        yRange: 0...Double(max(4, meetings.max() ?? 0)), ticks: [0, Double(max(4, meetings.max() ?? 0))], valueLabel: { String(Int($0)) })
        canvas.barChart("Medication adherence by week (scheduled doses taken)", labels: weekLabels, values: adherence.map { $0.map { $0 * 100 } },
                        yRange: 0...100, ticks: [0, 50, 100], valueLabel: { "\(Int($0.rounded())) %" })
        canvas.table(["Figure", "Value"], totals.map { [$0.0, $0.1] }, widths: [300, 199])
        canvas.paragraph("What the records show (last 30 days to \(to))", size: 12, bold: true, after: 2)
        for insight in insights { canvas.paragraph("- " + insight.sentence, size: 9.5, indent: 6, after: 1) }
        canvas.y += 6
        canvas.paragraph("Relapse-risk score as of \(to): \(String(format: "%.1f", risk.score)) (\(risk.level)), model \(RiskModel.version)",
                         size: 12, bold: true, after: 0)
        canvas.paragraph("A prompt for the care team, not a diagnosis; it is not validated on real patients (see the model card).", size: 8, after: 0)
        canvas.table(["Factor", "Value", "Weight", "Contribution"], risk.factors.map { f in
            [f.code, f.value.map { String(format: "%.3f", $0) } ?? "not measured", String(format: "%.2f", f.weight), String(format: "%.3f", f.contribution)]
        }, widths: [220, 95, 80, 104])
        return canvas.finish()
    }
}
