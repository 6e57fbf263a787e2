import Foundation
import GRDB

/// Reads one facility's figures for a week or a day from its records (deleted records
/// excluded), in the catalogue's terms. Runs inside the outbox's write
/// transaction, so a payload's figures are one consistent snapshot.
struct CatalogueFigures {
    let cipher: FieldCipher

    func read(facility: String, week: ISOWeek, in db: Database) throws -> MetricsCatalogue.Figures {
        try read(facility: facility, period: FederationPeriod(week), in: db)
    }

    func read(facility: String, period: FederationPeriod, in db: Database) throws -> MetricsCatalogue.Figures {
        let s = period.start, e = period.end
        let from = s + "T00:00:00.000Z", until = ISOWeek.day(ISOWeek.date(e)!.addingTimeInterval(86_400)) + "T00:00:00.000Z"
        func count(_ sql: String, _ arguments: StatementArguments) throws -> Int {
            try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0
        }
        var f = MetricsCatalogue.Figures()
        let live = "facility_id = ? AND deleted_at IS NULL"
        let inCareAtEnd = "\(live) AND admission_date IS NOT NULL AND admission_date <= ? AND (discharge_date IS NULL OR discharge_date > ?)"
        f.counts["census"] = try count("SELECT count(*) FROM patients WHERE \(inCareAtEnd)", [facility, e, e])
        let before = period.dayBefore
        f.openingCensus = try count("SELECT count(*) FROM patients WHERE \(inCareAtEnd)", [facility, before, before])
        f.counts["admissions"] = try count("SELECT count(*) FROM patients WHERE \(live) AND admission_date BETWEEN ? AND ?", [facility, s, e])
        f.counts["discharges"] = try count("SELECT count(*) FROM patients WHERE \(live) AND discharge_date BETWEEN ? AND ?", [facility, s, e])
        f.counts["active_patients"] = try count("""
            SELECT count(*) FROM (
              SELECT patient_id FROM patient_check_ins WHERE \(live) AND local_date BETWEEN ? AND ?
              UNION
              SELECT patient_id FROM patient_cravings WHERE \(live) AND occurred_at >= ? AND occurred_at < ?)
            """, [facility, s, e, facility, from, until])
        // Each patient-day's mood is its latest check-in's.
        let moods = try Int.fetchAll(db, sql: """
            SELECT (SELECT c.mood FROM patient_check_ins c WHERE c.facility_id = d.facility_id AND c.patient_id = d.patient_id
                      AND c.local_date = d.local_date AND c.deleted_at IS NULL ORDER BY c.checked_in_at DESC, c.id DESC LIMIT 1)
            FROM (SELECT DISTINCT facility_id, patient_id, local_date FROM patient_check_ins
                  WHERE \(live) AND local_date BETWEEN ? AND ?) d
            """, arguments: [facility, s, e])
        f.counts["check_ins"] = moods.count
        for band in MetricsCatalogue.moodBands { f.counts[band.name] = moods.filter { band.moods.contains($0) }.count }
        // Days in care within the week: from max(admission, Monday) to min(day before discharge, Sunday).
        let stay = try Row.fetchOne(db, sql: """
            SELECT count(*) AS patients, coalesce(sum(days), 0) AS days FROM (
              SELECT CAST(julianday(min(?, coalesce(date(discharge_date, '-1 day'), ?))) - julianday(max(?, admission_date)) + 1 AS INTEGER) AS days
              FROM patients WHERE \(live) AND admission_date IS NOT NULL AND admission_date <= ?
                AND (discharge_date IS NULL OR discharge_date > ?))
            WHERE days > 0
            """, arguments: [e, e, s, facility, e, s])!
        f.patientsInCare = stay["patients"]
        f.daysInCare = stay["days"]
        let cravings = try Row.fetchOne(db, sql: """
            SELECT count(*) AS n, coalesce(sum(intensity), 0) AS total, coalesce(sum(acted_on), 0) AS lapses
            FROM patient_cravings WHERE \(live) AND occurred_at >= ? AND occurred_at < ?
            """, arguments: [facility, from, until])!
        f.counts["cravings_logged"] = cravings["n"] as Int
        f.intensitySum = cravings["total"]
        f.counts["lapses"] = cravings["lapses"] as Int
        let crisis = try Row.fetchOne(db, sql: """
            SELECT count(*) AS raised, count(acknowledged_at) AS acknowledged
            FROM crisis_alerts WHERE facility_id = ? AND created_at >= ? AND created_at < ?
            """, arguments: [facility, from, until])!
        f.counts["crisis_alerts_raised"] = crisis["raised"] as Int
        f.counts["crisis_alerts_acknowledged"] = crisis["acknowledged"] as Int
        f.acknowledgeMinutes = try Double.fetchAll(db, sql: """
            SELECT (julianday(acknowledged_at) - julianday(created_at)) * 1440 FROM crisis_alerts
            WHERE facility_id = ? AND created_at >= ? AND created_at < ? AND acknowledged_at IS NOT NULL
            """, arguments: [facility, from, until])

        // Patients in care during the week (the rates' population).
        let inCareDuringWeek = "\(live) AND admission_date IS NOT NULL AND admission_date <= ? AND (discharge_date IS NULL OR discharge_date > ?)"
        f.meetingAttendees = try count("""
            SELECT count(DISTINCT a.patient_id) FROM meeting_attendance a
            JOIN patients p ON p.facility_id = a.facility_id AND p.id = a.patient_id
            WHERE a.facility_id = ? AND a.deleted_at IS NULL AND a.attended_at >= ? AND a.attended_at < ?
              AND p.id IN (SELECT id FROM patients WHERE \(inCareDuringWeek))
            """, [facility, from, until, facility, e, s])
        let doses = try Row.fetchOne(db, sql: """
            SELECT count(*) AS scheduled, coalesce(sum(status IN ('taken', 'late')), 0) AS taken FROM medication_doses
            WHERE \(live) AND scheduled_for >= ? AND scheduled_for < ?
            """, arguments: [facility, from, until])!
        f.dosesScheduled = doses["scheduled"]
        f.dosesTaken = doses["taken"]
        f.counts["high_risk_patients"] = try count("""
            SELECT count(*) FROM patients p
            WHERE p.facility_id = ? AND p.deleted_at IS NULL AND p.admission_date IS NOT NULL AND p.admission_date <= ?
              AND (p.discharge_date IS NULL OR p.discharge_date > ?)
              AND ((SELECT r.level FROM risk_scores r WHERE r.facility_id = p.facility_id AND r.patient_id = p.id AND r.computed_at < ?
                    ORDER BY r.computed_at DESC LIMIT 1) IN ('high', 'critical')
                OR EXISTS (SELECT 1 FROM patient_flags g WHERE g.facility_id = p.facility_id AND g.patient_id = p.id AND g.kind = 'risk'
                           AND g.raised_at < ? AND (g.resolved_at IS NULL OR g.resolved_at >= ?)))
            """, [facility, e, e, until, until, until])
        let caseloads = try Int.fetchAll(db, sql: """
            SELECT count(DISTINCT t.patient_id) FROM care_team_assignments t
            JOIN patients p ON p.facility_id = t.facility_id AND p.id = t.patient_id
            WHERE t.facility_id = ? AND t.starts_on <= ? AND (t.ends_on IS NULL OR t.ends_on >= ?)
              AND p.deleted_at IS NULL AND p.admission_date IS NOT NULL AND p.admission_date <= ? AND (p.discharge_date IS NULL OR p.discharge_date > ?)
            GROUP BY t.staff_id
            """, arguments: [facility, e, e, e, e])
        f.counts["staff_with_caseload"] = caseloads.count
        for band in MetricsCatalogue.caseloadBands { f.counts[band.name] = caseloads.filter { band.patients.contains($0) }.count }
        // Ages: each date of birth is opened for the count only; none leaves this function.
        var ages: [Int] = []
        for row in try Row.fetchAll(db, sql: "SELECT id, date_of_birth_enc FROM patients WHERE \(inCareAtEnd)", arguments: [facility, e, e]) {
            let id: String = row["id"]
            let born = try cipher.openString(row["date_of_birth_enc"], field: .patientsDateOfBirth, rowID: id)
            // Every patient in the census falls in exactly one band, so the bands add up to the census.
            guard let age = Self.age(born: born, on: e) else {
                throw FederationError.invalid(field: "patients.date_of_birth", issue: "must be a calendar date")
            }
            ages.append(age)
        }
        for band in MetricsCatalogue.ageBands { f.counts[band.name] = ages.filter { band.ages.contains($0) }.count }
        return f
    }

    /// Whole years from `born` to `day` (both `YYYY-MM-DD`), nil when either is not a date.
    static func age(born: String, on day: String) -> Int? {
        let b = born.split(separator: "-").compactMap { Int($0) }, d = day.split(separator: "-").compactMap { Int($0) }
        guard b.count == 3, d.count == 3 else { return nil }
        let years = d[0] - b[0] - ((d[1], d[2]) < (b[1], b[2]) ? 1 : 0)
        return max(0, years)
    }
}
