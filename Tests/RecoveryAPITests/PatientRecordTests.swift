import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

@Suite struct PatientRecordTests {
    @Test func softDeletedPatientsVanishAndComeBackWhole() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            #expect(try await client.delete("/api/v1/patients/\(p.patientA2)", token: p.counselorA1).status == .forbidden)
            #expect(try await client.delete("/api/v1/patients/\(p.patientA2)", token: p.adminA).status == .noContent)
            let list = try await client.get("/api/v1/patients", token: p.adminA)
            #expect((list.json["data"] as? [[String: Any]])?.contains { $0["id"] as? String == p.patientA2 } == false)
            #expect(try await client.get("/api/v1/patients/\(p.patientA2)", token: p.adminA).status == .notFound)
            let restored = try await client.post("/api/v1/patients/\(p.patientA2)/restore", [:], token: p.adminA)
            #expect(restored.status == .ok)
            #expect((restored.json["patient"] as? [String: Any])?["last_name"] as? String == "Wren")
            #expect(try await client.get("/api/v1/patients/\(p.patientA2)", token: p.adminA).status == .ok)
            #expect(try await client.post("/api/v1/patients/\(p.patientA2)/restore", [:], token: p.frontDeskA).status == .forbidden)
        }
    }

    @Test func listsPaginateFilterAndSearchNamesExactly() async throws {
        let box = try await TestAppliance()
        let listedPatient = Mutex("")
        try await box.test { client in
            let p = try await People.make(box, client)
            listedPatient.withLock { $0 = p.patientA }
            for i in 0..<7 { _ = try await client.createPatient(token: p.adminA, first: "Extra\(i)", last: "Person") }
            let page = try await client.get("/api/v1/patients?limit=4&page=2", token: p.adminA)
            let pagination = page.json["pagination"] as? [String: Int]
            #expect(pagination == ["page": 2, "limit": 4, "total": 9, "total_pages": 3])
            #expect((page.json["data"] as? [Any])?.count == 4)
            for search in ["quenneville", "  MARISOL ", "Marisol Quenneville", "quenneville marisol"] {
                let found = try await client.get("/api/v1/patients?search=\(search.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)", token: p.adminA)
                #expect((found.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [p.patientA], "search \(search)")
            }
            let partial = try await client.get("/api/v1/patients?search=Quenne", token: p.adminA)
            #expect((partial.json["data"] as? [Any])?.isEmpty == true)
            let caseload = try await client.get("/api/v1/patients?counselor_id=\(p.counselorA1ID)", token: p.adminA)
            #expect((caseload.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [p.patientA])
            let active = try await client.get("/api/v1/patients?status=active", token: p.adminA)
            #expect((active.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [p.patientA])
            for bad in ["limit=0", "limit=101", "page=0", "status=asleep", "admitted_from=2026-02-30", "counselor_id=abc"] {
                let response = try await client.get("/api/v1/patients?\(bad)", token: p.adminA)
                #expect(response.status == .unprocessableContent, "\(bad)")
                #expect(response.errorFields == [String(bad.split(separator: "=")[0])])
            }
            // Someone else's facility never shows up.
            let other = try await client.get("/api/v1/patients?search=Bayside", token: p.adminA)
            #expect((other.json["data"] as? [Any])?.isEmpty == true)
        }
        let listed = try await box.appliance.database.pool.read { db in
            try String.fetchAll(db, sql: """
                SELECT s.patient_ids FROM audit_logs a JOIN audit_patient_sets s ON s.digest = a.patient_set WHERE a.action = 'patient.list'
                """)
        }
        let patientA = listedPatient.withLock { $0 }
        #expect(listed.contains { $0.contains("\"\(patientA)\"") }, "list reads record the patients they returned")
    }

    @Test func editsKeepHistoryAndBadEditsChangeNothing() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let before = try await box.appliance.database.pool.read { db in String(describing: try Row.fetchOne(db, sql: "SELECT * FROM patients WHERE id = ?", arguments: [p.patientA])!) }
            let bad = try await client.patch("/api/v1/patients/\(p.patientA)", [
                "first_name": "", "level_of_care": "spa", "status": "asleep", "date_of_birth": "2999-01-01", "email": "nope",
            ], token: p.counselorA1)
            #expect(bad.status == .unprocessableContent)
            #expect(Set(bad.errorFields) == ["first_name", "level_of_care", "status", "date_of_birth", "email"])
            let after = try await box.appliance.database.pool.read { db in String(describing: try Row.fetchOne(db, sql: "SELECT * FROM patients WHERE id = ?", arguments: [p.patientA])!) }
            #expect(before == after)

            let changed = try await client.patch("/api/v1/patients/\(p.patientA)", [
                "level_of_care": "residential", "level_of_care_reason": "step up after lapse", "admission_date": "2026-11-01",
            ], token: p.counselorA1)
            #expect(changed.status == .ok)
            #expect((changed.json["patient"] as? [String: Any])?["level_of_care"] as? String == "residential")
            #expect(changed.json["length_of_stay_days"] as? Int ?? -1 >= 0)
            let tenDaysAgo = String(Timestamp.string(Date().addingTimeInterval(-10 * 86_400)).prefix(10))
            let reset = try await client.post("/api/v1/patients/\(p.patientA)/sobriety-reset", ["sobriety_date": tenDaysAgo, "reason": "lapse on weekend"], token: p.counselorA1)
            #expect(reset.status == .ok)
            let daysSober = reset.json["days_sober"] as? Int
            #expect(daysSober == 10 || daysSober == 9 || daysSober == 11, "days sober in the facility's time zone: \(String(describing: daysSober))")
            let future = try await client.post("/api/v1/patients/\(p.patientA)/sobriety-reset", ["sobriety_date": "2999-01-01"], token: p.counselorA1)
            #expect(future.errorFields == ["sobriety_date"])
        }
        let history = try await box.appliance.database.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM patient_level_of_care_history")!, try Int.fetchOne(db, sql: "SELECT count(*) FROM patient_sobriety_history")!)
        }
        #expect(history == (1, 1))
    }

    @Test func theDashboardHasEveryFieldEvenWithoutData() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let dashboard = try await client.get("/api/v1/patients/\(p.patientA)/dashboard", token: p.counselorA1)
            #expect(dashboard.status == .ok)
            let body = dashboard.json
            for key in ["days_sober", "latest_check_in", "average_mood7d", "mood_trend", "cravings_this_week", "goals", "meetings30d",
                        "medication_adherence", "risk", "open_flags", "open_crisis_alerts", "level_of_care", "status"] {
                #expect(body.keys.contains(key), "dashboard lacks \(key)")
            }
            #expect(body["latest_check_in"] is NSNull && body["risk"] is NSNull && body["medication_adherence"] is NSNull)
            #expect(body["cravings_this_week"] as? Int == 0)
            let detail = try await client.get("/api/v1/patients/\(p.patientA)", token: p.counselorA1)
            #expect(detail.json.keys.contains("days_sober") && detail.json["days_sober"] is NSNull)
        }
    }

    @Test func careTeamsChangeWithHistoryKept() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let added = try await client.post("/api/v1/patients/\(p.patientA2)/care-team", ["staff_id": p.counselorA2ID, "role": "counselor"], token: p.adminA)
            #expect(added.status == .created)
            let twice = try await client.post("/api/v1/patients/\(p.patientA2)/care-team", ["staff_id": p.counselorA2ID, "role": "counselor"], token: p.adminA)
            #expect(twice.errorFields == ["staff_id"])
            #expect(try await client.get("/api/v1/patients/\(p.patientA2)", token: p.counselorA2).status == .ok)
            let team = try await client.get("/api/v1/patients/\(p.patientA2)/care-team", token: p.adminA)
            let assignment = try #require((team.json["data"] as? [[String: Any]])?.first?["assignment_id"] as? String)
            #expect(try await client.delete("/api/v1/patients/\(p.patientA2)/care-team/\(assignment)", token: p.adminA).status == .noContent)
            let ended = try await client.get("/api/v1/patients/\(p.patientA2)/care-team", token: p.adminA)
            #expect((ended.json["data"] as? [[String: Any]])?.first?["ends_on"] is String)
            #expect(try await client.post("/api/v1/patients/\(p.patientA2)/care-team", ["staff_id": p.counselorA2ID, "role": "chef"], token: p.adminA).errorFields == ["role"])
            // One primary counselor at a time.
            let second = try await client.post("/api/v1/patients/\(p.patientA)/care-team", ["staff_id": p.counselorA2ID, "role": "primary_counselor"], token: p.adminA)
            #expect(second.errorFields == ["role"])
            // A second live patient cannot take an email already in use.
            let first = try await client.post("/api/v1/patients", ["first_name": "Ana", "last_name": "Lee", "date_of_birth": "1990-01-01", "email": "ana@example.org"], token: p.adminA)
            #expect(first.status == .created)
            let dupe = try await client.post("/api/v1/patients", ["first_name": "Ann", "last_name": "Li", "date_of_birth": "1991-01-01", "email": "ANA@example.org"], token: p.adminA)
            #expect(dupe.status == .conflict)
            #expect(try await client.post("/api/v1/patients/\(p.patientA2)/care-team", ["staff_id": p.counselorA1ID, "role": "counselor"], token: p.counselorA1).status == .forbidden)
        }
    }

    @Test func staffAndFacilitiesAreManagedWithinTheirFacility() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let staff = try await client.get("/api/v1/staff?limit=100", token: p.adminA)
            let emails = (staff.json["data"] as? [[String: Any]])?.compactMap { $0["email"] as? String } ?? []
            #expect(emails.contains("c1@harborlight.org") && !emails.contains("admin@bayside.example") && !emails.contains("root@box.example"))
            let dupe = try await client.post("/api/v1/staff", ["email": "C1@harborlight.org", "first_name": "A", "last_name": "B", "role": "nurse", "password": People.password], token: p.adminA)
            #expect(dupe.status == .conflict)
            #expect(try await client.post("/api/v1/staff", ["email": "n@h.org", "first_name": "A", "last_name": "B", "role": "super_admin", "password": People.password], token: p.adminA).status == .forbidden)
            #expect(try await client.post("/api/v1/staff", ["email": "n@h.org", "first_name": "A", "last_name": "B", "role": "nurse", "password": "short"], token: p.adminA).errorFields == ["password"])
            #expect(try await client.post("/api/v1/staff", ["email": "n@h.org", "first_name": "A", "last_name": "B", "role": "nurse", "password": People.password], token: p.counselorA1).status == .forbidden)

            // A role change is audited and takes effect at once.
            #expect(try await client.patch("/api/v1/staff/\(p.counselorA2ID)", ["role": "therapist"], token: p.adminA).status == .ok)
            #expect(try await client.get("/api/v1/auth/me", token: p.counselorA2).status == .unauthorized)
            #expect(try await client.get("/api/v1/staff/\(p.counselorA2ID)", token: p.adminB).status == .notFound)

            let facilities = try await client.get("/api/v1/facilities", token: p.superAdmin)
            #expect((facilities.json["data"] as? [Any])?.count == 2)
            #expect(try await client.get("/api/v1/facilities", token: p.adminA).status == .forbidden)
            #expect(try await client.get("/api/v1/facilities/\(p.facilityB)", token: p.adminA).status == .notFound)
            let mine = try await client.get("/api/v1/facilities/\(p.facilityA)", token: p.adminA)
            #expect((mine.json["facility"] as? [String: Any])?["active_patients"] as? Int == 1)
            let capacity = try await client.patch("/api/v1/facilities/\(p.facilityA)", ["capacity": 20], token: p.adminA)
            #expect((capacity.json["facility"] as? [String: Any])?["capacity"] as? Int == 20)
            #expect(try await client.patch("/api/v1/facilities/\(p.facilityA)", ["timezone": "Mars/Base"], token: p.adminA).errorFields == ["timezone"])
        }
        let roleChange = try await box.appliance.database.pool.read { db in
            try String.fetchOne(db, sql: "SELECT details FROM audit_logs WHERE action = 'staff.role_change'")
        }
        #expect(roleChange?.contains("\"to\":\"therapist\"") == true)
    }

    @Test func auditVerifyFindsAHandEditedEntry() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            _ = try await client.get("/api/v1/patients", token: p.adminA)
            let logs = try await client.get("/api/v1/audit-logs?action=patient.list", token: p.adminA)
            let entries = try #require(logs.json["data"] as? [[String: Any]])
            // An entry lists the patients the read returned (stored once per distinct list),
            // and the patient's access history finds the list read.
            #expect(entries.contains { ($0["patient_ids"] as? [String])?.contains(p.patientA) == true })
            let history = try await client.get("/api/v1/patients/\(p.patientA)/access-history?limit=100", token: p.adminA)
            let seen = try #require(history.json["data"] as? [[String: Any]])
            #expect(seen.contains { $0["action"] as? String == "patient.list" && ($0["patient_ids"] as? [String])?.contains(p.patientA) == true })
            #expect(!seen.contains { $0["action"] as? String == "patient.list" && ($0["patient_ids"] as? [String])?.contains(p.patientA) != true })
        }
        let settings = box.appliance.settings
        guard case .intact(let count) = try ApplianceSetup.verifyAudit(settings: settings) else { Issue.record("chain broken"); return }
        #expect(count > 10)
        try await box.appliance.database.pool.write { db in
            try db.execute(sql: "DROP TRIGGER audit_logs_no_delete")
            try db.execute(sql: "DELETE FROM audit_logs WHERE seq = 9")
        }
        #expect(try ApplianceSetup.verifyAudit(settings: settings) == .broken(seq: 10, reason: "does not follow the entry before it (an entry was removed, inserted or altered)"))
        try await box.appliance.database.pool.write { db in
            try db.execute(sql: "DROP TRIGGER audit_logs_no_update")
            try db.execute(sql: "UPDATE audit_logs SET action = 'patient.nothing_to_see' WHERE seq = 5")
        }
        #expect(try ApplianceSetup.verifyAudit(settings: settings) == .broken(seq: 5, reason: "its content does not match its hash (the entry was altered)"))
    }
}
