import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

/// The access rules a clinic relies on, through the API: care-team changes
/// take effect at once, named grants, emergency access with its review,
/// facility isolation of patient emails, and access decided before a body
/// is validated.
@Suite struct AccessRulesTests {
    func deniedCount(_ box: TestAppliance, action: String) async throws -> Int {
        try await box.appliance.database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs WHERE outcome = 'denied' AND action = ?", arguments: [action])!
        }
    }

    @Test func endingACareTeamAssignmentClosesAccessAtOnceAndAFutureOneCanBeCancelled() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let assigned = try await client.post("/api/v1/patients/\(p.patientA2)/care-team", ["staff_id": p.counselorA2ID, "role": "counselor"], token: p.adminA)
            #expect(assigned.status == .created)
            #expect(try await client.get("/api/v1/patients/\(p.patientA2)", token: p.counselorA2).status == .ok)
            let members = try #require(assigned.json["data"] as? [[String: Any]])
            let assignment = try #require(members.first { $0["staff_id"] as? String == p.counselorA2ID }?["assignment_id"] as? String)
            #expect(try await client.delete("/api/v1/patients/\(p.patientA2)/care-team/\(assignment)", token: p.adminA).status == .noContent)
            // Same day, same minute: refused already.
            let refused = try await client.get("/api/v1/patients/\(p.patientA2)", token: p.counselorA2)
            #expect(refused.errorCode == "not_on_care_team")
            let team = try await client.get("/api/v1/patients/\(p.patientA2)/care-team", token: p.adminA)
            let ended = try #require((team.json["data"] as? [[String: Any]])?.first { $0["assignment_id"] as? String == assignment })
            #expect(ended["ended_at"] is String && ended["ends_on"] as? String == String(Timestamp.now().prefix(10)))
            #expect(try await client.delete("/api/v1/patients/\(p.patientA2)/care-team/\(assignment)", token: p.adminA).status == .notFound)

            // An assignment starting tomorrow, cancelled: it never opens, not even on its first day.
            let tomorrow = String(Timestamp.string(Date().addingTimeInterval(86_400)).prefix(10))
            let future = try await client.post("/api/v1/patients/\(p.patientA2)/care-team",
                                               ["staff_id": p.counselorA2ID, "role": "counselor", "starts_on": tomorrow], token: p.adminA)
            #expect(future.status == .created)
            let futureID = try #require((future.json["data"] as? [[String: Any]])?.first { $0["starts_on"] as? String == tomorrow }?["assignment_id"] as? String)
            #expect(try await client.delete("/api/v1/patients/\(p.patientA2)/care-team/\(futureID)", token: p.adminA).status == .noContent)
            try await box.appliance.database.pool.write { db in   // its first day comes
                try db.execute(sql: "UPDATE care_team_assignments SET starts_on = date('now', '-1 day'), ends_on = date('now') WHERE id = ?", arguments: [futureID])
            }
            #expect(try await client.get("/api/v1/patients/\(p.patientA2)", token: p.counselorA2).status == .forbidden)
            let cancelled = try await box.appliance.database.pool.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs WHERE action = 'care_team.cancel'")!
            }
            #expect(cancelled == 1)
        }
    }

    @Test func aNamedGrantLiftsTheRestrictionButNotTheCareTeamRuleAndNeedsAnActiveStaffMember() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            #expect(try await client.patch("/api/v1/patients/\(p.patientA2)", ["is_restricted": true], token: p.adminA).status == .ok)
            for staffID in [p.counselorA2ID] {
                #expect(try await client.post("/api/v1/patients/\(p.patientA2)/access-grants", ["staff_id": staffID], token: p.adminA).status == .noContent)
            }
            // Named, but not on the care team: the caseload rule still applies.
            #expect(try await client.get("/api/v1/patients/\(p.patientA2)", token: p.counselorA2).errorCode == "not_on_care_team")
            #expect(try await client.get("/api/v1/patients", token: p.counselorA2).json["data"] as? [Any] != nil)
            let listed = (try await client.get("/api/v1/patients", token: p.counselorA2).json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(listed == [])
            // Front desk named on the restricted patient: its demographics, as for any patient of the facility.
            let desk = try await client.get("/api/v1/staff?role=staff", token: p.adminA)
            let deskID = try #require((desk.json["data"] as? [[String: Any]])?.first?["id"] as? String)
            #expect(try await client.get("/api/v1/patients/\(p.patientA2)", token: p.frontDeskA).errorCode == "restricted_patient")
            #expect(try await client.post("/api/v1/patients/\(p.patientA2)/access-grants", ["staff_id": deskID], token: p.adminA).status == .noContent)
            #expect(try await client.get("/api/v1/patients/\(p.patientA2)", token: p.frontDeskA).status == .ok)
            // A deactivated account cannot be named.
            #expect(try await client.delete("/api/v1/staff/\(p.counselorA1ID)", token: p.adminA).status == .noContent)
            let inactive = try await client.post("/api/v1/patients/\(p.patientA2)/access-grants", ["staff_id": p.counselorA1ID], token: p.adminA)
            #expect(inactive.status == .unprocessableContent && inactive.errorFields == ["staff_id"])
            // Revoked: the restriction applies again.
            #expect(try await client.delete("/api/v1/patients/\(p.patientA2)/access-grants/\(deskID)", token: p.adminA).status == .noContent)
            #expect(try await client.get("/api/v1/patients/\(p.patientA2)", token: p.frontDeskA).errorCode == "restricted_patient")
        }
    }

    @Test func emergencyAccessRenewsTwiceAndIsReviewedAndEndedByAnAdministrator() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let reason = ["reason": "Patient in crisis in the waiting room"]
            for _ in 0..<3 {
                #expect(try await client.post("/api/v1/patients/\(p.patientA2)/emergency-access", reason, token: p.counselorA2).status == .created)
            }
            let limit = try await client.post("/api/v1/patients/\(p.patientA2)/emergency-access", reason, token: p.counselorA2)
            #expect(limit.status == .conflict && limit.errorCode == "emergency_access_renewal_limit")
            #expect(try await deniedCount(box, action: "patient.emergency_access_renew") == 1)
            // Letting the grant lapse does not reset the count: the fourth within three hours is refused too.
            try await box.appliance.database.pool.write { db in
                try db.execute(sql: "UPDATE emergency_access_grants SET expires_at = ? WHERE ended_at IS NULL", arguments: [Timestamp.now()])
            }
            #expect(try await client.post("/api/v1/patients/\(p.patientA2)/emergency-access", reason, token: p.counselorA2).errorCode == "emergency_access_renewal_limit")
            try await box.appliance.database.pool.write { db in
                try db.execute(sql: "UPDATE emergency_access_grants SET expires_at = ? WHERE ended_at IS NULL", arguments: [Timestamp.string(Date().addingTimeInterval(600))])
            }
            // One grant open at a time: each renewal ends the one it renews.
            let open = try await box.appliance.database.pool.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM emergency_access_grants WHERE ended_at IS NULL")!
            }
            #expect(open == 1)

            #expect(try await client.get("/api/v1/emergency-access", token: p.counselorA2).status == .forbidden)
            #expect((try await client.get("/api/v1/emergency-access", token: p.adminB).json["data"] as? [Any])?.isEmpty == true)
            let list = try await client.get("/api/v1/emergency-access?status=unreviewed", token: p.adminA)
            let grants = try #require(list.json["data"] as? [[String: Any]])
            #expect(grants.count == 3 && grants.allSatisfy { $0["reason"] as? String == reason["reason"] })
            let current = try #require(grants.first { $0["ended_at"] is NSNull }?["id"] as? String)
            #expect(grants.filter { $0["renews"] is String }.count == 2)

            let reviewed = try await client.post("/api/v1/emergency-access/\(current)/review", ["outcome": "appropriate"], token: p.adminA)
            #expect((reviewed.json["grant"] as? [String: Any])?["review_outcome"] as? String == "appropriate")
            #expect(try await client.post("/api/v1/emergency-access/\(current)/review", ["outcome": "appropriate"], token: p.adminA).status == .conflict)
            #expect(try await client.post("/api/v1/emergency-access/\(current)/review", ["outcome": "fine"], token: p.adminB).status == .notFound)
            #expect(try await client.post("/api/v1/emergency-access/\(current)/review", ["outcome": "fine"], token: p.adminA).errorFields == ["outcome"])

            #expect(try await client.get("/api/v1/patients/\(p.patientA2)", token: p.counselorA2).status == .ok)
            #expect(try await client.post("/api/v1/emergency-access/\(current)/end", [:], token: p.adminB).status == .notFound)
            #expect(try await client.post("/api/v1/emergency-access/\(current)/end", [:], token: p.adminA).status == .ok)
            #expect(try await client.get("/api/v1/patients/\(p.patientA2)", token: p.counselorA2).errorCode == "not_on_care_team")
            #expect(try await client.post("/api/v1/emergency-access/\(current)/end", [:], token: p.adminA).status == .conflict)
            // Ended by an administrator: the clinician cannot simply break the glass again.
            let again = try await client.post("/api/v1/patients/\(p.patientA2)/emergency-access", reason, token: p.counselorA2)
            #expect(again.status == .conflict && again.errorCode == "emergency_access_ended")
            // Nobody reviews their own emergency access.
            #expect(try await client.post("/api/v1/patients/\(p.patientA2)/emergency-access", reason, token: p.adminA).status == .created)
            let own = try await box.appliance.database.pool.read { db in
                try String.fetchOne(db, sql: "SELECT id FROM emergency_access_grants WHERE staff_id = (SELECT id FROM staff WHERE role = 'admin' AND facility_id = ?)",
                                    arguments: [p.facilityA])!
            }
            let selfReview = try await client.post("/api/v1/emergency-access/\(own)/review", ["outcome": "appropriate"], token: p.adminA)
            #expect(selfReview.status == .forbidden && selfReview.errorCode == "own_emergency_access")
            #expect(try await client.post("/api/v1/emergency-access/\(own)/review", ["outcome": "appropriate"], token: p.superAdmin).status == .ok)
            let steps = try await box.appliance.database.pool.read { db in
                try String.fetchAll(db, sql: "SELECT action FROM audit_logs WHERE action LIKE 'emergency_access.%' AND outcome = 'success' ORDER BY seq")
            }
            #expect(steps == ["emergency_access.list", "emergency_access.list", "emergency_access.review", "emergency_access.end", "emergency_access.review"])
        }
    }

    @Test func aPatientEmailUsedAtAnotherFacilityRevealsNothing() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let email = "same.person@example.org"
            let there = try await client.post("/api/v1/patients", ["first_name": "Ingrid", "last_name": "Two", "date_of_birth": "1980-02-02", "email": email], token: p.adminB)
            #expect(there.status == .created)
            let here = try await client.post("/api/v1/patients", ["first_name": "Ingrid", "last_name": "Two", "date_of_birth": "1980-02-02", "email": email], token: p.adminA)
            #expect(here.status == .created, "another facility's patient does not block the email: \(here.text)")
            let again = try await client.post("/api/v1/patients", ["first_name": "Other", "last_name": "Person", "date_of_birth": "1981-02-02", "email": email], token: p.adminA)
            #expect(again.status == .conflict && again.errorCode == "email_in_use", "within one facility it stays unique")
            let moved = try await client.patch("/api/v1/patients/\(p.patientA2)", ["email": email], token: p.adminA)
            #expect(moved.status == .conflict)
            let elsewhere = try await client.patch("/api/v1/patients/\(p.patientB)", ["email": "tobias@example.org"], token: p.adminB)
            #expect(elsewhere.status == .ok)

            // Both register; the password decides which account an email sign-in opens.
            func register(_ created: TestResponse, _ password: String) async throws -> (id: String, number: String) {
                let key = try #require(created.json["registration_key"] as? String)
                let r = try await client.post("/api/v1/auth/patient/register", ["registration_key": key, "password": password])
                #expect(r.status == .created, "\(r.text)")
                let patient = try #require(created.json["patient"] as? [String: Any])
                return (patient["id"] as! String, patient["patient_number"] as! String)
            }
            let b = try await register(there, "bayside patient passphrase")
            let a = try await register(here, "harbor patient passphrase")
            func signIn(_ identifier: String, _ password: String) async throws -> TestResponse {
                try await client.post("/api/v1/auth/patient/login", ["identifier": identifier, "password": password])
            }
            #expect((try await signIn(email, "harbor patient passphrase").json["patient"] as? [String: Any])?["id"] as? String == a.id)
            #expect((try await signIn(email, "bayside patient passphrase").json["patient"] as? [String: Any])?["id"] as? String == b.id)
            #expect(try await signIn(email, "neither of the two passphrases").errorCode == "invalid_credentials")
            // The same password at both: only the patient number tells them apart.
            try await box.appliance.database.pool.write { db in
                try db.execute(sql: "UPDATE patients SET password_hash = (SELECT password_hash FROM patients WHERE id = ?) WHERE id = ?", arguments: [a.id, b.id])
            }
            #expect(try await signIn(email, "harbor patient passphrase").errorCode == "sign_in_with_patient_number")
            #expect((try await signIn(b.number, "harbor patient passphrase").json["patient"] as? [String: Any])?["id"] as? String == b.id)
        }
    }

    @Test func accessIsDecidedBeforeTheBodyIsValidatedOnEveryPatientWriteRoute() async throws {
        let box = try await TestAppliance()
        let writes = allEndpoints(box.appliance).filter {
            $0.path.hasPrefix("/api/v1/patients/{id}") && ($0.method == .post || $0.method == .patch) && ValidBodies.for($0)?.isEmpty == false
        }
        #expect(writes.count >= 10)
        try await box.test { client in
            let p = try await People.make(box, client)
            for endpoint in writes {
                var path = endpoint.path.replacingOccurrences(of: "{id}", with: p.patientA)
                while let open = path.firstIndex(of: "{"), let close = path.firstIndex(of: "}") {
                    path.replaceSubrange(open...close, with: UUID().uuidString.lowercased())
                }
                // Another facility's admin with a body that fails validation: 404, as for a patient that does not exist.
                var headers = jsonHeaders
                headers[.authorization] = "Bearer \(p.adminB)"
                let bad = try await client.execute(uri: path, method: endpoint.method, headers: headers, body: jsonBody(["unexpected": 1, "staff_id": 7, "reason": 3]))
                #expect(bad.status == .notFound, "\(endpoint.method) \(endpoint.path) answered \(bad.status) \(bad.text)")
                // A counselor not on the care team: 403, never 422 (breaking the glass reaches every patient of the facility).
                if endpoint.path.hasSuffix("/emergency-access") { continue }
                headers[.authorization] = "Bearer \(p.counselorA2)"
                let off = try await client.execute(uri: path.replacingOccurrences(of: p.patientA, with: p.patientA2), method: endpoint.method,
                                                   headers: headers, body: jsonBody(["unexpected": 1]))
                #expect(off.status == .forbidden, "\(endpoint.method) \(endpoint.path) answered \(off.status) \(off.text)")
            }
        }
    }

    @Test func aRefusedPatientCreateIsAudited() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let body: [String: Any?] = ["first_name": "Ava", "last_name": "Stone", "date_of_birth": "1990-01-01", "facility_id": p.facilityB]
            let other = try await client.post("/api/v1/patients", body, token: p.adminA)
            #expect(other.status == .forbidden && other.errorCode == "other_facility")
            #expect(try await deniedCount(box, action: "patient.create") == 1)
            let nurse = try await client.post("/api/v1/patients", ["first_name": "Ava", "last_name": "Stone", "date_of_birth": "1990-01-01"], token: p.nurseA)
            #expect(nurse.status == .forbidden)
            let route = try await box.appliance.database.pool.read { db in
                try String.fetchAll(db, sql: "SELECT resource_id FROM audit_logs WHERE action = 'route.denied' AND outcome = 'denied'")
            }
            #expect(route == ["POST /api/v1/patients"])
            let created = try await client.post("/api/v1/patients", ["first_name": "Ava", "last_name": "Stone", "date_of_birth": "1990-01-01", "facility_id": p.facilityB], token: p.superAdmin)
            #expect(created.status == .created)
            let unnamed = try await client.post("/api/v1/patients", ["first_name": "Ava", "last_name": "Stone", "date_of_birth": "1990-01-01"], token: p.superAdmin)
            #expect(unnamed.errorFields == ["facility_id"])
            let stored = try await box.appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM patients")! }
            #expect(stored == 4, "only the super admin's patient was added to the fixture's three")
        }
    }
}
