import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

@Suite struct AssessmentTests {
    @Test func staffRecordScoredAssessmentsAndReadTrends() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let catalogue = try await client.get("/api/v1/assessment-instruments", token: p.patientToken)
            #expect((catalogue.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["phq9", "gad7", "bam", "pacs"])

            let url = "/api/v1/patients/\(p.patientA)/assessments"
            let first = try await client.post(url, ["instrument": "gad7", "answers": [3, 3, 3, 1, 0, 0, 0]], token: p.counselorA1)
            #expect(first.status == .created, "\(first.text)")
            let a = try #require(first.json["assessment"] as? [String: Any])
            #expect(a["total"] as? Int == 10 && a["band"] as? String == "moderate" && (a["flags"] as? [Any])?.isEmpty == true)
            _ = try await client.post(url, ["instrument": "gad7", "answers": [1, 1, 1, 1, 0, 0, 0]], token: p.counselorA1)
            // A nurse may administer measures, to the patients of their care team only.
            #expect(try await client.post(url, ["instrument": "gad7", "answers": [1, 1, 1, 1, 0, 0, 0]], token: p.nurseA).status == .forbidden)

            let bam = try await client.post(url, ["instrument": "bam", "answers": [2, 2, 2, 1, 0, 0, 0, 3, 4, 4, 3, 2, 4, 4, 1, 4, 3]], token: p.counselorA1)
            let b = try #require(bam.json["assessment"] as? [String: Any], "\(bam.text)")
            let subscales = try #require(b["subscales"] as? [String: [String: Any]])
            #expect(subscales["use"]?["score"] as? Int == 1 && subscales["risk"]?["score"] as? Int == 13 && subscales["protective"]?["score"] as? Int == 22)
            #expect(subscales["risk"]?["band"] as? String == "elevated" && b["total"] is NSNull)

            // Wrong input: named 422s, nothing stored.
            for body: [String: Any] in [["instrument": "gad7"], ["instrument": "gad7", "answers": [1, 2]], ["instrument": "phq10", "answers": []],
                                        ["instrument": "gad7", "answers": [4, 0, 0, 0, 0, 0, 0]], ["instrument": "gad7", "answers": ["1", 0, 0, 0, 0, 0, 0]]] {
                let bad = try await client.post(url, body, token: p.counselorA1)
                #expect(bad.status == .unprocessableContent, "\(body): \(bad.text)")
            }
            // Access: not on the caseload, another facility, the front desk.
            #expect(try await client.post(url, ["instrument": "gad7", "answers": [0, 0, 0, 0, 0, 0, 0]], token: p.counselorA2).status == .forbidden)
            #expect(try await client.post(url, ["instrument": "gad7", "answers": [0, 0, 0, 0, 0, 0, 0]], token: p.adminB).status == .notFound)
            #expect(try await client.get(url, token: p.frontDeskA).status == .forbidden)

            let list = try await client.get(url + "?instrument=gad7", token: p.counselorA1)
            let data = try #require(list.json["data"] as? [[String: Any]])
            #expect(data.compactMap { $0["total"] as? Int } == [4, 10])
            let trend = try #require((list.json["trends"] as? [String: Any])?["gad7"] as? [String: Any])
            #expect((trend["total"] as? [[String: Any]])?.compactMap { $0["value"] as? Int } == [10, 4])
            let items = try #require(trend["items"] as? [[[String: Any]]])
            #expect(items.count == 7 && items[0].compactMap { $0["value"] as? Int } == [3, 1])
            let all = try await client.get(url, token: p.counselorA1)
            #expect((all.json["data"] as? [Any])?.count == 3)
            let stored = try await box.appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM assessments")! }
            #expect(stored == 3)
        }
    }

    @Test func aPositivePHQ9ItemNineRaisesTheFlagAndACrisisAlert() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let calm = try await client.post("/api/v1/patients/\(p.patientA)/assessments", ["instrument": "phq9", "answers": [1, 1, 1, 1, 1, 0, 0, 0, 0]],
                                             token: p.counselorA1)
            #expect((calm.json["assessment"] as? [String: Any])?["band"] as? String == "mild")
            #expect(try await CrisisAlertTests.alertCount(box) == 0)

            let raised = try await client.post("/api/v1/patients/\(p.patientA)/assessments", ["instrument": "phq9", "answers": [2, 2, 2, 2, 2, 2, 2, 2, 1]],
                                               token: p.counselorA1)
            let a = try #require(raised.json["assessment"] as? [String: Any], "\(raised.text)")
            #expect(a["total"] as? Int == 17 && a["band"] as? String == "moderately_severe")
            let flags = try #require(a["flags"] as? [[String: Any]])
            #expect(flags.first?["code"] as? String == "suicidal_ideation" && flags.first?["level"] as? String == "crisis" && flags.first?["item"] as? Int == 9)
            let alertID = try #require(a["crisis_alert_id"] as? String)
            let alerts = try await client.get("/api/v1/crisis-alerts", token: p.counselorA1)
            let alert = try #require((alerts.json["data"] as? [[String: Any]])?.first)
            #expect(alert["id"] as? String == alertID && alert["source"] as? String == "system" && alert["severity"] as? String == "critical")
            #expect(try await CrisisAlertTests.alertCount(box) == 1)
        }
    }

    @Test func assignedToTheAppAndAnsweredByThePatient() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let assigned = try await client.post("/api/v1/patients/\(p.patientA)/assessment-assignments", ["instrument": "phq9", "due_on": "2026-12-01"],
                                                 token: p.counselorA1)
            #expect(assigned.status == .created, "\(assigned.text)")
            let assignmentID = try #require((assigned.json["assignment"] as? [String: Any])?["id"] as? String)
            let pending = try await client.get("/api/v1/me/assessment-assignments", token: p.patientToken)
            #expect((pending.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [assignmentID])
            #expect(try await client.get("/api/v1/me/assessment-assignments", token: p.counselorA1).status == .forbidden)

            let wrong = try await client.post("/api/v1/me/assessments", ["assignment_id": assignmentID, "instrument": "gad7", "answers": [0, 0, 0, 0, 0, 0, 0]],
                                              token: p.patientToken)
            #expect(wrong.status == .unprocessableContent)
            let answered = try await client.post("/api/v1/me/assessments", ["assignment_id": assignmentID, "answers": [0, 0, 0, 0, 0, 0, 0, 0, 2]],
                                                 token: p.patientToken)
            #expect(answered.status == .created, "\(answered.text)")
            let a = try #require(answered.json["assessment"] as? [String: Any])
            #expect(a["administered_by_kind"] as? String == "patient" && a["crisis_alert_id"] is String)
            #expect(((try await client.get("/api/v1/me/assessment-assignments", token: p.patientToken)).json["data"] as? [Any])?.isEmpty == true)
            let again = try await client.post("/api/v1/me/assessments", ["assignment_id": assignmentID, "answers": [0, 0, 0, 0, 0, 0, 0, 0, 0]],
                                              token: p.patientToken)
            #expect(again.status == .conflict)
            // Of their own accord, without an assignment.
            let own = try await client.post("/api/v1/me/assessments", ["instrument": "pacs", "answers": [6, 6, 6, 6, 6]], token: p.patientToken)
            #expect((own.json["assessment"] as? [String: Any])?["total"] as? Int == 30)
            // Another patient's assignment is not theirs.
            let otherAssignment = try await client.post("/api/v1/patients/\(p.patientA2)/assessment-assignments", ["instrument": "gad7"], token: p.adminA)
            let otherID = try #require((otherAssignment.json["assignment"] as? [String: Any])?["id"] as? String)
            #expect(try await client.post("/api/v1/me/assessments", ["assignment_id": otherID, "answers": [0, 0, 0, 0, 0, 0, 0]],
                                          token: p.patientToken).status == .notFound)
        }
    }
}
