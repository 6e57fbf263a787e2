import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

@Suite struct TreatmentPlanTests {
    nonisolated(unsafe) static let templateContent: [String: Any] = ["problems": [[
        "title": "Alcohol use disorder, moderate",
        "goals": [[
            "title": "Sustained abstinence", "target_days": 90,
            "objectives": [[
                "title": "Attend 3 mutual-help meetings a week", "target_days": 30, "responsible_role": "patient",
                "interventions": [["title": "Weekly relapse-prevention group", "frequency": "weekly", "responsible_role": "counselor"]],
            ]],
        ]],
    ]]]

    @Test func templateToPlanToSignToVersionTwoWithVersionOneUnchanged() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            // A template, versioned on each change.
            let made = try await client.post("/api/v1/treatment-plan-templates", ["name": "IOP standard", "content": Self.templateContent], token: p.adminA)
            #expect(made.status == .created, "\(made.text)")
            let templateID = try #require((made.json["template"] as? [String: Any])?["id"] as? String)
            #expect(try await client.post("/api/v1/treatment-plan-templates", ["name": "X"], token: p.counselorA1).status == .forbidden)
            let bad = try await client.post("/api/v1/treatment-plan-templates", ["name": "X", "content": ["problems": [["goals": []]]]], token: p.adminA)
            #expect(bad.status == .unprocessableContent && bad.errorFields == ["content.problems[0].title"], "\(bad.text)")
            let renamed = try await client.patch("/api/v1/treatment-plan-templates/\(templateID)", ["name": "IOP standard (2026)"], token: p.adminA)
            #expect((renamed.json["template"] as? [String: Any])?["version"] as? Int == 2, "\(renamed.text)")
            let v1 = try await client.get("/api/v1/treatment-plan-templates/\(templateID)?version=1", token: p.counselorA1)
            #expect((v1.json["template"] as? [String: Any])?["name"] as? String == "IOP standard")
            #expect(try await client.get("/api/v1/treatment-plan-templates/\(templateID)", token: p.adminB).status == .notFound)
            let listed = try await client.get("/api/v1/treatment-plan-templates", token: p.counselorA1)
            #expect((listed.json["data"] as? [Any])?.count == 1)

            // A patient goal the plan links to.
            let goal = try await client.post("/api/v1/patients/\(p.patientA)/goals", ["title": "Stay sober through the holidays"], token: p.counselorA1)
            let goalID = try #require((goal.json["goal"] as? [String: Any])?["id"] as? String)

            let created = try await client.post("/api/v1/patients/\(p.patientA)/treatment-plans",
                                                ["title": "Initial plan", "template_id": templateID, "start_date": "2026-12-01"], token: p.counselorA1)
            #expect(created.status == .created, "\(created.text)")
            let plan = try #require(created.json["treatment_plan"] as? [String: Any])
            let v1ID = try #require(plan["id"] as? String)
            #expect(plan["version"] as? Int == 1 && plan["status"] as? String == "draft" && plan["template_version"] as? Int == 2)
            let problems = try #require((plan["content"] as? [String: Any])?["problems"] as? [[String: Any]])
            let firstGoal = try #require((problems.first?["goals"] as? [[String: Any]])?.first)
            #expect(firstGoal["target_date"] as? String == "2027-03-01")
            #expect(((firstGoal["objectives"] as? [[String: Any]])?.first)?["target_date"] as? String == "2026-12-31")

            // A draft is edited in place; a link to a goal must be the patient's own.
            var content = try #require(plan["content"] as? [String: Any])
            var editedProblems = problems
            var goals = try #require(editedProblems[0]["goals"] as? [[String: Any]])
            goals[0]["patient_goal_id"] = goalID
            editedProblems[0]["goals"] = goals
            content["problems"] = editedProblems
            let draftEdit = try await client.patch("/api/v1/treatment-plans/\(v1ID)", ["content": content, "review_date": "2027-01-15"], token: p.counselorA1)
            #expect(draftEdit.status == .ok && (draftEdit.json["treatment_plan"] as? [String: Any])?["version"] as? Int == 1, "\(draftEdit.text)")
            goals[0]["patient_goal_id"] = UUID().uuidString.lowercased()
            editedProblems[0]["goals"] = goals
            let wrongLink = try await client.patch("/api/v1/treatment-plans/\(v1ID)", ["content": ["problems": editedProblems]], token: p.counselorA1)
            #expect(wrongLink.status == .unprocessableContent)

            // Signing: the clinician; not the nurse; not twice.
            #expect(try await client.post("/api/v1/treatment-plans/\(v1ID)/sign", [:], token: p.nurseA).status == .forbidden)
            #expect(try await client.post("/api/v1/treatment-plans/\(v1ID)/sign", [:], token: p.counselorA2).status == .forbidden)
            let signed = try await client.post("/api/v1/treatment-plans/\(v1ID)/sign", [:], token: p.counselorA1)
            #expect(signed.status == .ok && (signed.json["treatment_plan"] as? [String: Any])?["signed_at"] is String, "\(signed.text)")
            #expect(try await client.post("/api/v1/treatment-plans/\(v1ID)/sign", [:], token: p.counselorA1).status == .conflict)
            let signedV1 = try #require(try await client.get("/api/v1/treatment-plans/\(v1ID)", token: p.counselorA1).json["treatment_plan"] as? [String: Any])

            // The database refuses a change to a signed row.
            await #expect(throws: (any Error).self) {
                try await box.appliance.database.pool.write { db in
                    try db.execute(sql: "UPDATE treatment_plans SET review_date = '2030-01-01' WHERE id = ?", arguments: [v1ID])
                }
            }

            // Editing the signed plan makes version 2 as a draft.
            let edited = try await client.patch("/api/v1/treatment-plans/\(v1ID)", ["title": "Plan after the first review"], token: p.counselorA1)
            #expect(edited.status == .created, "\(edited.text)")
            let v2 = try #require(edited.json["treatment_plan"] as? [String: Any])
            let v2ID = try #require(v2["id"] as? String)
            #expect(v2["version"] as? Int == 2 && v2["status"] as? String == "draft" && v2["plan_id"] as? String == v1ID)
            #expect(v2["previous_version_id"] as? String == v1ID && v2["title"] as? String == "Plan after the first review")
            #expect(((v2["content"] as? [String: Any])?["problems"] as? [Any])?.count == 1)
            // Version 1 is unchanged and readable; only the newest version is edited.
            var again = try #require(try await client.get("/api/v1/treatment-plans/\(v1ID)", token: p.counselorA1).json["treatment_plan"] as? [String: Any])
            #expect(again["is_newest"] as? Bool == false)
            again["is_newest"] = true
            func canonical(_ object: [String: Any]) throws -> String {
                String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
            }
            #expect(try canonical(again) == canonical(signedV1))
            #expect(try await client.patch("/api/v1/treatment-plans/\(v1ID)", ["title": "x"], token: p.counselorA1).status == .conflict)
            let versions = try await client.get("/api/v1/treatment-plans/\(v2ID)/versions", token: p.counselorA1)
            #expect((versions.json["data"] as? [[String: Any]])?.compactMap { $0["version"] as? Int } == [1, 2])
            let listedPlans = try await client.get("/api/v1/patients/\(p.patientA)/treatment-plans", token: p.counselorA1)
            #expect((listedPlans.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [v2ID])

            // The patient sees the signed version and acknowledges it; not the draft.
            let mine = try await client.get("/api/v1/me/treatment-plans", token: p.patientToken)
            #expect((mine.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [v1ID], "\(mine.text)")
            #expect(try await client.post("/api/v1/me/treatment-plans/\(v2ID)/acknowledge", [:], token: p.patientToken).status == .notFound)
            let ack = try await client.post("/api/v1/me/treatment-plans/\(v1ID)/acknowledge", [:], token: p.patientToken)
            #expect(ack.status == .ok && (ack.json["treatment_plan"] as? [String: Any])?["acknowledged_at"] is String, "\(ack.text)")
            let seen = try await client.get("/api/v1/treatment-plans/\(v1ID)", token: p.counselorA1)
            #expect((seen.json["treatment_plan"] as? [String: Any])?["acknowledged_at"] is String)
            #expect(try await client.get("/api/v1/treatment-plans/\(v1ID)", token: p.adminB).status == .notFound)

            // The title and content are encrypted at rest.
            let raw = try await box.appliance.database.pool.read { db in
                try Row.fetchAll(db, sql: "SELECT title_enc, content_enc FROM treatment_plans").flatMap { [$0["title_enc"] as Data, $0["content_enc"] as Data] }
            }
            #expect(!raw.contains { String(decoding: $0, as: UTF8.self).contains("Plan after") || String(decoding: $0, as: UTF8.self).contains("Alcohol") })
        }
    }
}
