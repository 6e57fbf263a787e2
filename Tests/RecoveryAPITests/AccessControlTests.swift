import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

@Suite struct AccessControlTests {
    /// Every route that takes a patient id, called by another facility's
    /// admin with our patient's id: 404, nothing leaked, and audited.
    @Test func anotherFacilityCannotReachOurPatientsOnAnyRoute() async throws {
        let box = try await TestAppliance()
        let endpoints = allEndpoints(box.appliance).filter { $0.path.hasPrefix("/api/v1/patients/{id}") }
        #expect(endpoints.count >= 16)
        let people = try await box.test { client -> People in
            let people = try await People.make(box, client)
            for endpoint in endpoints {
                let response = try await client.call(endpoint, id: people.patientA, token: people.adminB)
                #expect(response.status == .notFound, "\(endpoint.method) \(endpoint.path) answered \(response.status)")
                #expect(!response.text.contains("Marisol") && !response.text.contains("Quenneville"))
            }
            return people
        }
        let denied = try await box.appliance.database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs WHERE outcome = 'denied' AND patient_id = ?", arguments: [people.patientA])!
        }
        #expect(denied >= endpoints.count, "every refused attempt is audited (got \(denied))")
        let unchanged = try await box.appliance.database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM patients WHERE id = ? AND program IS NULL AND deleted_at IS NULL AND sobriety_date IS NULL",
                             arguments: [people.patientA])!
        }
        #expect(unchanged == 1, "the refused writes changed nothing")
    }

    /// `GET /auth/me` lists the permissions README's table gives the caller's
    /// role (the console builds its menus from them); a patient has none.
    @Test func meListsTheDocumentedPermissionsOfTheRole() async throws {
        let box = try await TestAppliance()
        let documented = try IDORMatrixTests.documentedMatrix().permissions
        try await box.test { client in
            let p = try await People.make(box, client)
            let callers = [("super_admin", p.superAdmin), ("admin", p.adminA), ("counselor", p.counselorA1), ("nurse", p.nurseA), ("staff", p.frontDeskA)]
            for (role, token) in callers {
                let me = try await client.get("/api/v1/auth/me", token: token)
                #expect(me.status == .ok)
                let listed = try #require(me.json["permissions"] as? [String], "\(role): \(me.text)")
                let expected = Set(documented.filter { $0.value.contains(role) }.map(\.key))
                #expect(Set(listed) == expected, "\(role)")
                #expect(listed.count == expected.count, "\(role): listed once each")
            }
            let patient = try await client.get("/api/v1/auth/me", token: p.patientToken)
            #expect(patient.json["permissions"] as? [String] == [])
        }
    }

    @Test func aPatientTokenIsRefusedOnEveryStaffRoute() async throws {
        let box = try await TestAppliance()
        let staffRoutes = allEndpoints(box.appliance).filter { if case .staff = $0.access { return true } else { return false } }
        #expect(staffRoutes.count >= 25)
        try await box.test { client in
            let people = try await People.make(box, client)
            for endpoint in staffRoutes {
                let response = try await client.call(endpoint, id: people.patientA, token: people.patientToken)
                #expect(response.status == .forbidden, "\(endpoint.method) \(endpoint.path) answered \(response.status)")
            }
        }
    }

    @Test func everyRouteDeclaresWhoMayCallIt() async throws {
        let box = try await TestAppliance()
        let publicRoutes = Set(allEndpoints(box.appliance).filter { $0.access == .public }.map { "\($0.method.rawValue) \($0.path)" })
        #expect(publicRoutes == [
            "GET /api/v1/health", "GET /api/v1/ready", "GET /api/v1/openapi.json", "GET /api/v1/asyncapi.json", "POST /api/v1/auth/staff/login", "POST /api/v1/auth/patient/register",
            "POST /api/v1/auth/patient/login", "POST /api/v1/auth/refresh", "POST /api/v1/auth/mfa/verify",
            "POST /api/v1/auth/mfa/enrol/setup", "POST /api/v1/auth/mfa/enrol/confirm",
            // Federation: a clinic redeems its one-time code, and its payloads carry its signature instead of a token.
            "POST /api/v1/federation/enroll", "POST /api/v1/federation/payloads",
        ])
        try await box.test { client in
            for endpoint in allEndpoints(box.appliance) where endpoint.access != .public {
                let response = try await client.call(endpoint, id: UUID().uuidString, token: "not-a-token")
                #expect(response.status == .unauthorized, "\(endpoint.method) \(endpoint.path) answered \(response.status) without a token")
            }
        }
        // The matrix is data: every role has an entry, and only super admins manage facilities.
        #expect(Set(RolePermissions.matrix.keys) == Set(StaffRole.allCases))
        #expect(StaffRole.allCases.filter { RolePermissions.allows($0, .facilitiesManageAll) } == [.superAdmin])
    }

    @Test func counselorsSeeTheirCaseloadAndBreakTheGlassOtherwise() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            #expect(try await client.get("/api/v1/patients/\(p.patientA)", token: p.counselorA1).status == .ok)
            #expect(try await client.get("/api/v1/patients/\(p.patientA)/dashboard", token: p.counselorA1).status == .ok)
            let list = try await client.get("/api/v1/patients", token: p.counselorA1)
            #expect((list.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [p.patientA])

            let refused = try await client.get("/api/v1/patients/\(p.patientA)", token: p.counselorA2)
            #expect(refused.status == .forbidden)
            #expect(refused.errorCode == "not_on_care_team")
            #expect(!refused.text.contains("Marisol"))
            #expect((try await client.get("/api/v1/patients", token: p.counselorA2).json["data"] as? [Any])?.isEmpty == true)

            let short = try await client.post("/api/v1/patients/\(p.patientA)/emergency-access", ["reason": "now"], token: p.counselorA2)
            #expect(short.errorFields == ["reason"])
            let glass = try await client.post("/api/v1/patients/\(p.patientA)/emergency-access", ["reason": "Patient collapsed in group session"], token: p.counselorA2)
            #expect(glass.status == .created)
            #expect(try await client.get("/api/v1/patients/\(p.patientA)", token: p.counselorA2).status == .ok)

            // Front desk: demographics yes, clinical no.
            #expect(try await client.get("/api/v1/patients/\(p.patientA)", token: p.frontDeskA).status == .ok)
            let clinical = try await client.get("/api/v1/patients/\(p.patientA)/dashboard", token: p.frontDeskA)
            #expect(clinical.status == .forbidden)

            let history = try await client.get("/api/v1/patients/\(p.patientA)/access-history?limit=100", token: p.adminA)
            let entries = try #require(history.json["data"] as? [[String: Any]])
            #expect(entries.contains { $0["action"] as? String == "patient.emergency_access" && $0["actor_id"] as? String == p.counselorA2ID })
            #expect(entries.contains { $0["outcome"] as? String == "denied" && $0["actor_id"] as? String == p.counselorA2ID })
            #expect(entries.contains { $0["action"] as? String == "patient.read" && ($0["details"] as? [String: String])?["access"] == "emergency" })
            #expect(try await client.get("/api/v1/patients/\(p.patientA)/access-history", token: p.counselorA1).status == .forbidden)
        }
    }

    @Test func restrictedPatientsAreSeenOnlyByNamedStaff() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            #expect(try await client.patch("/api/v1/patients/\(p.patientA)", ["is_restricted": true], token: p.counselorA1).status == .forbidden)
            #expect(try await client.patch("/api/v1/patients/\(p.patientA)", ["is_restricted": true], token: p.adminA).status == .ok)
            let refused = try await client.get("/api/v1/patients/\(p.patientA)", token: p.counselorA1)
            #expect(refused.errorCode == "restricted_patient")
            let desk = try await client.get("/api/v1/patients?search=Quenneville", token: p.frontDeskA)
            #expect((desk.json["data"] as? [Any])?.isEmpty == true)
            #expect(try await client.post("/api/v1/patients/\(p.patientA)/access-grants", ["staff_id": p.counselorA1ID], token: p.adminA).status == .noContent)
            #expect(try await client.get("/api/v1/patients/\(p.patientA)", token: p.counselorA1).status == .ok)
            #expect(try await client.delete("/api/v1/patients/\(p.patientA)/access-grants/\(p.counselorA1ID)", token: p.adminA).status == .noContent)
            #expect(try await client.get("/api/v1/patients/\(p.patientA)", token: p.counselorA1).status == .forbidden)
        }
    }
}
