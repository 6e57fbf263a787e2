import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

/// Insights, risk scores, workload and weekly metrics through the router:
/// who may read them, what a bad query answers, and the audit trail.
@Suite struct AnalyticsAPITests {
    static func audited(_ box: TestAppliance, _ action: String, patient: String) async throws -> Int {
        return try await box.appliance.database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs WHERE action = ? AND patient_id = ? AND outcome = 'success'",
                             arguments: [action, patient])!
        }
    }

    @Test func insightsReachTheCareTeamAndAreAudited() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            for (mood, back) in [(4, 2), (6, 1), (8, 0)] {
                // The facility's today (America/Chicago): insights count days on its calendar.
                let day = CalendarDate.string(julianDay: CalendarDate.julianDay(CalendarDate.today(in: "America/Chicago"))! - back)
                let r = try await client.post("/api/v1/me/check-ins", ["id": UUID().uuidString, "local_date": day, "timezone": "UTC", "mood": mood,
                                                                       "halt": ["tired": true]], token: p.patientToken)
                #expect(r.status == .created, "\(r.text)")
            }
            let url = "/api/v1/patients/\(p.patientA)/insights"
            let r = try await client.get(url, token: p.counselorA1)
            #expect(r.status == .ok, "\(r.text)")
            let insights = try #require(r.json["insights"] as? [[String: Any]])
            #expect(insights.compactMap { $0["kind"] as? String } == ["mood_trend", "craving_pattern", "top_triggers", "check_in_streaks",
                                                                     "halt_frequency", "meeting_adherence", "medication_adherence"])
            let halt = try #require(insights.first { $0["kind"] as? String == "halt_frequency" })
            #expect(halt["sentence"] as? String == "Of 3 check-ins in the last 30 days, 3 reported feeling tired (100 %).")
            let mood = try #require(insights.first { $0["kind"] as? String == "mood_trend" }?["values"] as? [String: Any])
            #expect(mood["slope_7d"] as? Double == 2 && mood["mean_7d"] as? Double == 6)
            #expect(try await Self.audited(box, "patient.insights", patient: p.patientA) == 1)

            // Not on the caseload 403, front desk 403, another facility 404, a patient's token 403; each refusal audited.
            #expect(try await client.get(url, token: p.counselorA2).status == .forbidden)
            #expect(try await client.get(url, token: p.frontDeskA).status == .forbidden)
            #expect(try await client.get(url, token: p.adminB).status == .notFound)
            #expect(try await client.get(url, token: p.patientToken).status == .forbidden)
            #expect(try await client.get("/api/v1/patients/\(UUID().uuidString.lowercased())/insights", token: p.adminA).status == .notFound)
            let refused = try await box.appliance.database.pool.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs WHERE action = 'patient.insights' AND outcome <> 'success'")!
            }
            #expect(refused >= 3)
        }
    }

    @Test func riskScoresWithFactorsHistoryAndTheFacilityThreshold() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let url = "/api/v1/patients/\(p.patientA)/risk"
            let none = try await client.get(url, token: p.counselorA1)
            #expect(none.status == .ok && none.json["risk"] is NSNull && none.json["flag_threshold"] as? Int == 60)

            // The threshold is the facility's; out of range is refused, naming the field, and nothing changes.
            let settings = "/api/v1/facilities/\(p.facilityA)/recovery-settings"
            let bad = try await client.patch(settings, ["risk_flag_threshold": 0], token: p.adminA)
            #expect(bad.status == .unprocessableContent && bad.text.contains("risk_flag_threshold"))
            #expect(try await client.get(settings, token: p.adminA).json["risk_flag_threshold"] as? Int == 60)
            #expect(try await client.patch(settings, ["risk_flag_threshold": 10], token: p.adminA).json["risk_flag_threshold"] as? Int == 10)

            _ = try await client.post("/api/v1/me/cravings", ["id": UUID().uuidString, "occurred_at": Timestamp.now(), "intensity": 9,
                                                              "acted_on": true], token: p.patientToken)
            try await box.appliance.database.pool.write { db in
                try db.execute(sql: "UPDATE patients SET status = 'active' WHERE id = ?", arguments: [p.patientA])
            }
            try await RiskWatch(appliance: box.appliance).tick()
            let scored = try await client.get(url, token: p.counselorA1)
            let risk = try #require(scored.json["risk"] as? [String: Any], "\(scored.text)")
            let factors = try #require(risk["factors"] as? [[String: Any]])
            #expect(factors.count == RiskModel.signals.count)
            let use = try #require(factors.first { $0["factor"] as? String == "reported_use_14d" })
            #expect(use["value"] as? Double == 1 && use["weight"] as? Double == 1.6 && use["contribution"] as? Double == 1.6)
            #expect(risk["model_version"] as? String == RiskModel.version && (risk["score"] as? Double ?? 0) >= 10)
            let flags = try await client.get("/api/v1/patients/\(p.patientA)/flags", token: p.counselorA1)
            #expect((flags.json["data"] as? [[String: Any]])?.filter { $0["kind"] as? String == "risk" }.count == 1, "\(flags.text)")

            let history = try await client.get(url + "/history", token: p.counselorA1)
            #expect((history.json["data"] as? [Any])?.count == 1)
            #expect(try await Self.audited(box, "patient.risk_history", patient: p.patientA) == 1)
            for query in ["limit=0", "limit=x", "from=2026-02-30", "from=2026-05-01&to=2026-04-01"] {
                let r = try await client.get(url + "/history?" + query, token: p.counselorA1)
                let field = String(query.split(separator: "=").first!)
                let named = (r.json["error"] as? [String: Any])?["details"] as? [[String: Any]]
                #expect(r.status == .unprocessableContent && named?.first?["field"] as? String == (query.contains("&") ? "to" : field), "\(query): \(r.text)")
            }
            #expect(try await client.get(url, token: p.adminB).status == .notFound)
            #expect(try await client.get(url, token: p.patientToken).status == .forbidden)
        }
    }

    @Test func workloadAndWeeklyMetricsAreForAdministrators() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let workload = try await client.get("/api/v1/facilities/\(p.facilityA)/workload", token: p.adminA)
            #expect(workload.status == .ok, "\(workload.text)")
            let rows = try #require(workload.json["data"] as? [[String: Any]])
            #expect(rows.first { $0["staff_id"] as? String == p.counselorA1ID }?["active_patients"] as? Int == 1)
            #expect(rows.first { $0["staff_id"] as? String == p.counselorA2ID }?["active_patients"] as? Int == 0)
            #expect(try await client.get("/api/v1/facilities/\(p.facilityA)/workload", token: p.counselorA1).status == .forbidden)
            #expect(try await client.get("/api/v1/facilities/\(p.facilityA)/workload", token: p.adminB).status == .notFound)

            try await box.appliance.database.pool.write { db in
                try db.execute(sql: "UPDATE facilities SET capacity = 4 WHERE id = ?", arguments: [p.facilityA])
                try db.execute(sql: "UPDATE patients SET admission_date = '2026-03-04' WHERE id = ?", arguments: [p.patientA])
                try db.execute(sql: "UPDATE patients SET admission_date = '2026-03-10', discharge_date = '2026-03-20' WHERE id = ?", arguments: [p.patientA2])
            }
            let metrics = try await client.get("/api/v1/facilities/\(p.facilityA)/metrics?from=2026-03-04&to=2026-03-25", token: p.adminA)
            #expect(metrics.status == .ok, "\(metrics.text)")
            let weeks = try #require(metrics.json["data"] as? [[String: Any]])
            // 4 March 2026 is a Wednesday: weeks from Monday 2 March to Monday 23 March.
            #expect(weeks.compactMap { $0["week_start"] as? String } == ["2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23"])
            #expect(weeks.compactMap { $0["census"] as? Int } == [1, 2, 1, 1])
            #expect(weeks.compactMap { $0["occupancy_rate"] as? Double } == [0.25, 0.5, 0.25, 0.25])
            for (query, field) in [("from=2026-13-01", "from"), ("to=yesterday", "to"), ("from=2026-03-10&to=2026-03-01", "to"), ("from=0000-01-01", "from"),
                                   ("from=2025-01-01&to=2026-03-01", "to")] {
                let r = try await client.get("/api/v1/facilities/\(p.facilityA)/metrics?" + query, token: p.adminA)
                let named = (r.json["error"] as? [String: Any])?["details"] as? [[String: Any]]
                #expect(r.status == .unprocessableContent && named?.first?["field"] as? String == field, "\(query): \(r.text)")
            }
            #expect(try await client.get("/api/v1/facilities/\(p.facilityB)/metrics", token: p.adminA).status == .notFound)
            #expect(try await client.get("/api/v1/facilities/\(p.facilityB)/metrics", token: p.superAdmin).status == .ok)
        }
    }
}
