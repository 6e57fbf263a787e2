import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

/// The IDOR matrix: every route with an `{id}`, called by every role and a
/// patient, on records of the caller's own facility, of another facility,
/// their own patient (caseload, or themselves) and another patient. The
/// expected answer of each cell comes from the documentation (README's
/// permission table and reach rules), not from the policy's code. A refused
/// cell must answer 403 or 404, be audited under its request id, show no
/// patient's name and change no stored data; an allowed cell must not be
/// refused.
@Suite struct IDORMatrixTests {
    enum Outcome: String { case allowed, forbidden, notFound }

    struct Caller {
        var name: String
        var role: String            // a staff role, or "patient"
        var token: String
        var facility: String?       // nil: every facility
        var caseload: Set<String>   // patients on the care team (or the patient themselves)
    }

    struct Target {
        var name: String
        var id: String
        var facility: String?
        var patient: Bool = false
        /// A conversation's participants (caller names): the conversation rule admits them only.
        var participants: Set<String>? = nil
        /// The patient a record is about (a crisis alert), for the caseload.
        var patientID: String? = nil
    }

    /// The permission table of README.md: permission → roles that have it,
    /// and each role's reach of patient permissions.
    static func documentedMatrix() throws -> (permissions: [String: Set<String>], reach: [String: String]) {
        let readme = try String(contentsOf: PolicyBoundaryTests.root.appendingPathComponent("README.md"), encoding: .utf8)
        let roles = ["super_admin", "admin", "counselor", "therapist", "nurse", "staff"]
        var permissions: [String: Set<String>] = [:]
        var reach: [String: String] = [:]
        for line in readme.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast().map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == roles.count + 1 else { continue }
            if cells[0].contains("reach of patient permissions") {
                for (role, cell) in zip(roles, cells.dropFirst()) { reach[role] = cell }
                continue
            }
            // "patients.delete / patients.restore", "staff.manage (create, edit, ...)"
            let names = (cells[0].split(separator: "(").first ?? "").split(separator: "/").map { $0.trimmingCharacters(in: .whitespaces) }
            for name in names where Permission(rawValue: name) != nil {
                permissions[name] = Set(zip(roles, cells.dropFirst()).filter { $0.1 == "✓" }.map(\.0))
            }
        }
        #expect(Set(permissions.keys) == Set(Permission.allCases.map(\.rawValue)), "README documents every permission")
        #expect(reach.count == roles.count, "README documents every role's reach")
        return (permissions, reach)
    }

    /// The documented answer for one cell.
    static func expected(_ endpoint: Endpoint, _ caller: Caller, _ target: Target,
                         _ documented: (permissions: [String: Set<String>], reach: [String: String])) -> Outcome {
        if endpoint.path.hasPrefix("/api/v1/auth/sessions/") { return .notFound }   // another account's session
        // Conversations (README "Messaging"): participants only, else 404 as if it did not exist.
        if let participants = target.participants { return participants.contains(caller.name) ? .allowed : .notFound }
        // Any signed-in reader, of their own facility's announcements (audience all).
        if endpoint.path == "/api/v1/announcements/{id}/read" { return caller.facility == nil || caller.facility == target.facility ? .allowed : .notFound }
        // The patient app's own records by id (README "Clinical records"): the patient's own, else 404; staff 403.
        if endpoint.path.hasPrefix("/api/v1/me/") {
            guard caller.role == "patient" else { return .forbidden }
            return caller.caseload.contains(target.patientID ?? target.id) ? .allowed : .notFound
        }
        guard caller.role != "patient", let permission = endpoint.access.permission else { return .forbidden }
        guard documented.permissions[permission.rawValue]?.contains(caller.role) == true else { return .forbidden }
        if let facility = caller.facility, target.facility != facility { return .notFound }
        if target.patient, documented.reach[caller.role] == "care team", !caller.caseload.contains(target.patientID ?? target.id),
           permission != .emergencyAccess {
            return .forbidden
        }
        return .allowed
    }

    /// Everything stored besides the audit trail and sign-in bookkeeping.
    static func fingerprint(_ db: Database) throws -> String {
        let tables = try String.fetchAll(db, sql: """
            SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'audit%'
              AND name NOT IN ('auth_attempts', 'sessions', 'staff_sessions', 'patient_sessions', 'grdb_migrations', 'schema_migrations')
            ORDER BY name
            """)
        var text = ""
        for table in tables {
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\"").map { "\(table) \($0)" }
            text += rows.sorted().joined(separator: "\n") + "\n"
        }
        return text
    }

    @Test func everyRouteWithAnIDAnswersAsDocumentedForEveryRoleAndRecord() async throws {
        let box = try await TestAppliance()
        let documented = try Self.documentedMatrix()
        let endpoints = allEndpoints(box.appliance).filter { $0.path.contains("{id}") }
        let pool = box.appliance.database.pool
        let (cells, refused) = try await box.test { client -> (Int, Int) in
            let p = try await People.make(box, client)
            _ = try await People.addStaff(client, by: p.adminA, "t1@harborlight.org", "therapist")
            let therapistA = try await client.staffToken("t1@harborlight.org", People.password)
            let staffA = try await People.addStaff(client, by: p.adminA, "target@harborlight.org", "staff")
            let staffB = try await People.addStaff(client, by: p.adminB, "target@bayside.example", "staff")
            let counselorB = try await People.addStaff(client, by: p.adminB, "counselor@bayside.example", "counselor")
            let rootID = try #require((try await client.get("/api/v1/auth/me", token: p.superAdmin).json["user"] as? [String: Any])?["id"] as? String)
            // Two break-the-glass grants, one per facility, ended at once so they open nothing.
            #expect(try await client.post("/api/v1/patients/\(p.patientA)/emergency-access", ["reason": "Seen in the lobby in distress"], token: p.counselorA2).status == .created)
            let counselorBToken = try await client.staffToken("counselor@bayside.example", People.password)
            #expect(try await client.post("/api/v1/patients/\(p.patientB)/emergency-access", ["reason": "Seen in the lobby in distress"], token: counselorBToken).status == .created)
            try await pool.write { db in try db.execute(sql: "UPDATE emergency_access_grants SET ended_at = ?", arguments: [Timestamp.now()]) }
            let grantA = try await pool.read { db in try String.fetchOne(db, sql: "SELECT id FROM emergency_access_grants WHERE facility_id = ?", arguments: [p.facilityA])! }
            let grantB = try await pool.read { db in try String.fetchOne(db, sql: "SELECT id FROM emergency_access_grants WHERE staff_id = ?", arguments: [counselorB])! }
            // A session of an account that calls nothing here.
            let foreignSession = try await pool.read { db in try String.fetchOne(db, sql: "SELECT family_id FROM sessions WHERE staff_id = ?", arguments: [staffB])! }
            let patientNumber = try await pool.read { db in try String.fetchOne(db, sql: "SELECT patient_number FROM patients WHERE id = ?", arguments: [p.patientA])! }

            // Conversations: counselor A1's care conversation with patient A, a staff thread of
            // facility A, and one of facility B; a message template per facility.
            func created(_ response: TestResponse, _ key: String) throws -> String {
                try #require((response.json[key] as? [String: Any])?["id"] as? String, "\(response.status) \(response.text)")
            }
            let careConversation = try created(try await client.post("/api/v1/conversations", ["patient_id": p.patientA], token: p.counselorA1), "conversation")
            let staffThread = try created(try await client.post("/api/v1/conversations", ["participant_ids": [staffA]], token: p.nurseA), "conversation")
            let conversationB = try created(try await client.post("/api/v1/conversations", ["participant_ids": [staffB, counselorB]], token: p.adminB), "conversation")
            let templateA = try created(try await client.post("/api/v1/message-templates", ["title": "Reminder", "body": "See you soon."], token: p.adminA), "template")
            let templateB = try created(try await client.post("/api/v1/message-templates", ["title": "Reminder", "body": "See you soon."], token: p.adminB), "template")
            // Crisis alerts and announcements (audience all), in both facilities.
            let alertA = try created(try await client.post("/api/v1/patients/\(p.patientA)/crisis-alerts", [:], token: p.counselorA1), "alert")
            let alertA2 = try created(try await client.post("/api/v1/patients/\(p.patientA2)/crisis-alerts", [:], token: p.adminA), "alert")
            let alertB = try created(try await client.post("/api/v1/patients/\(p.patientB)/crisis-alerts", [:], token: p.adminB), "alert")
            let notice = ["title": "Fire drill", "body": "Thursday at 10:00.", "audience": "all"]
            let announcementA = try created(try await client.post("/api/v1/announcements", notice, token: p.adminA), "announcement")
            let announcementB = try created(try await client.post("/api/v1/announcements", notice, token: p.adminB), "announcement")

            // Treatment plan templates, one per facility; a signed plan of patient A, drafts of the others.
            let planTemplateA = try created(try await client.post("/api/v1/treatment-plan-templates", ["name": "IOP"], token: p.adminA), "template")
            let planTemplateB = try created(try await client.post("/api/v1/treatment-plan-templates", ["name": "IOP"], token: p.adminB), "template")
            let planA = try created(try await client.post("/api/v1/patients/\(p.patientA)/treatment-plans", ["title": "Plan"], token: p.counselorA1), "treatment_plan")
            #expect(try await client.post("/api/v1/treatment-plans/\(planA)/sign", [:], token: p.counselorA1).status == .ok)
            let planA2 = try created(try await client.post("/api/v1/patients/\(p.patientA2)/treatment-plans", ["title": "Plan"], token: p.adminA), "treatment_plan")
            let planB = try created(try await client.post("/api/v1/patients/\(p.patientB)/treatment-plans", ["title": "Plan"], token: p.adminB), "treatment_plan")

            // A consent per patient.
            let consent: [String: Any] = ["recipient": "County probation", "purpose": "legal", "information_scope": ["attendance"],
                                          "expiry_condition": "End of probation", "signer_name": "The patient", "signed_on": "2026-01-05"]
            let consentA = try created(try await client.post("/api/v1/patients/\(p.patientA)/consents", consent, token: p.counselorA1), "consent")
            let consentA2 = try created(try await client.post("/api/v1/patients/\(p.patientA2)/consents", consent, token: p.adminA), "consent")
            let consentB = try created(try await client.post("/api/v1/patients/\(p.patientB)/consents", consent, token: p.adminB), "consent")

            // A document per patient, patient A's visible to them.
            let pdf = Array("%PDF-1.7\n%%EOF\n".utf8)
            let documentA = try created(try await client.upload("/api/v1/patients/\(p.patientA)/documents", file: pdf,
                                                                fields: ["title": "Scan", "type": "other", "patient_visible": "true"], token: p.counselorA1), "document")
            let documentA2 = try created(try await client.upload("/api/v1/patients/\(p.patientA2)/documents", file: pdf,
                                                                 fields: ["title": "Scan", "type": "other", "patient_visible": "true"], token: p.adminA), "document")
            let documentB = try created(try await client.upload("/api/v1/patients/\(p.patientB)/documents", file: pdf,
                                                                fields: ["title": "Scan", "type": "other", "patient_visible": "true"], token: p.adminB), "document")

            var patientToken = p.patientToken
            func callers() -> [Caller] {
                [Caller(name: "super admin", role: "super_admin", token: p.superAdmin, facility: nil, caseload: []),
                 Caller(name: "admin A", role: "admin", token: p.adminA, facility: p.facilityA, caseload: []),
                 Caller(name: "counselor A1", role: "counselor", token: p.counselorA1, facility: p.facilityA, caseload: [p.patientA]),
                 Caller(name: "therapist A", role: "therapist", token: therapistA, facility: p.facilityA, caseload: []),
                 Caller(name: "nurse A", role: "nurse", token: p.nurseA, facility: p.facilityA, caseload: []),
                 Caller(name: "front desk A", role: "staff", token: p.frontDeskA, facility: p.facilityA, caseload: []),
                 Caller(name: "patient A", role: "patient", token: patientToken, facility: p.facilityA, caseload: [p.patientA])]
            }
            func targets(_ endpoint: Endpoint) -> [Target] {
                let path = endpoint.path
                if path.hasPrefix("/api/v1/patients/{id}") {
                    return [Target(name: "own patient", id: p.patientA, facility: p.facilityA, patient: true),
                            Target(name: "another patient, same facility", id: p.patientA2, facility: p.facilityA, patient: true),
                            Target(name: "another facility's patient", id: p.patientB, facility: p.facilityB, patient: true)]
                }
                if path.hasPrefix("/api/v1/staff/{id}") {
                    return [Target(name: "own facility's staff", id: staffA, facility: p.facilityA),
                            Target(name: "another facility's staff", id: staffB, facility: p.facilityB),
                            Target(name: "box-wide account", id: rootID, facility: nil)]
                }
                if path.hasPrefix("/api/v1/facilities/{id}") {
                    return [Target(name: "own facility", id: p.facilityA, facility: p.facilityA),
                            Target(name: "another facility", id: p.facilityB, facility: p.facilityB)]
                }
                if path.hasPrefix("/api/v1/emergency-access/{id}") {
                    return [Target(name: "own facility's grant", id: grantA, facility: p.facilityA),
                            Target(name: "another facility's grant", id: grantB, facility: p.facilityB)]
                }
                if path.hasPrefix("/api/v1/conversations/{id}") {
                    return [Target(name: "own patient's care conversation", id: careConversation, facility: p.facilityA,
                                   participants: ["counselor A1", "patient A"]),
                            Target(name: "a staff thread of the facility", id: staffThread, facility: p.facilityA, participants: ["nurse A"]),
                            Target(name: "another facility's conversation", id: conversationB, facility: p.facilityB, participants: [])]
                }
                if path.hasPrefix("/api/v1/message-templates/{id}") {
                    return [Target(name: "own facility's template", id: templateA, facility: p.facilityA),
                            Target(name: "another facility's template", id: templateB, facility: p.facilityB)]
                }
                if path.hasPrefix("/api/v1/crisis-alerts/{id}") {
                    return [Target(name: "own patient's alert", id: alertA, facility: p.facilityA, patient: true, patientID: p.patientA),
                            Target(name: "another patient's alert, same facility", id: alertA2, facility: p.facilityA, patient: true, patientID: p.patientA2),
                            Target(name: "another facility's alert", id: alertB, facility: p.facilityB, patient: true, patientID: p.patientB)]
                }
                if path.hasPrefix("/api/v1/announcements/{id}") {
                    return [Target(name: "own facility's announcement", id: announcementA, facility: p.facilityA),
                            Target(name: "another facility's announcement", id: announcementB, facility: p.facilityB)]
                }
                if path.hasPrefix("/api/v1/treatment-plan-templates/{id}") {
                    return [Target(name: "own facility's template", id: planTemplateA, facility: p.facilityA),
                            Target(name: "another facility's template", id: planTemplateB, facility: p.facilityB)]
                }
                if path.hasPrefix("/api/v1/treatment-plans/{id}") || path.hasPrefix("/api/v1/me/treatment-plans/{id}") {
                    return [Target(name: "own patient's plan", id: planA, facility: p.facilityA, patient: true, patientID: p.patientA),
                            Target(name: "another patient's plan, same facility", id: planA2, facility: p.facilityA, patient: true, patientID: p.patientA2),
                            Target(name: "another facility's plan", id: planB, facility: p.facilityB, patient: true, patientID: p.patientB)]
                }
                if path.hasPrefix("/api/v1/consents/{id}") {
                    return [Target(name: "own patient's consent", id: consentA, facility: p.facilityA, patient: true, patientID: p.patientA),
                            Target(name: "another patient's consent, same facility", id: consentA2, facility: p.facilityA, patient: true, patientID: p.patientA2),
                            Target(name: "another facility's consent", id: consentB, facility: p.facilityB, patient: true, patientID: p.patientB)]
                }
                if path.hasPrefix("/api/v1/documents/{id}") || path.hasPrefix("/api/v1/me/documents/{id}") {
                    return [Target(name: "own patient's document", id: documentA, facility: p.facilityA, patient: true, patientID: p.patientA),
                            Target(name: "another patient's document, same facility", id: documentA2, facility: p.facilityA, patient: true, patientID: p.patientA2),
                            Target(name: "another facility's document", id: documentB, facility: p.facilityB, patient: true, patientID: p.patientB)]
                }
                if path.hasPrefix("/api/v1/federation/peers/{id}") {
                    // Central's clinics are box-wide; this box is a clinic, so the super admin's answer is 404 federation_role.
                    return [Target(name: "a clinic enrolled with central", id: UUID().uuidString.lowercased(), facility: nil)]
                }
                if path.hasPrefix("/api/v1/auth/sessions/{id}") {
                    return [Target(name: "another account's session", id: foreignSession, facility: p.facilityB)]
                }
                Issue.record("no targets for \(endpoint.method) \(path): add its resource to the matrix")
                return []
            }

            let names = ["Marisol", "Quenneville", "Tobias", "Wren", "Ingrid"]
            var cells = 0, refused = 0
            for endpoint in endpoints {
                for index in callers().indices {
                    for target in targets(endpoint) {
                        let caller = callers()[index]
                        let expected = Self.expected(endpoint, caller, target, documented)
                        let requestID = "idor-\(UUID().uuidString.prefix(12).lowercased())"
                        let before = expected == .allowed ? "" : try await pool.read { db in try Self.fingerprint(db) }
                        let response = try await client.call(endpoint, id: target.id, token: caller.token, requestID: requestID)
                        let denied = try await pool.read { db in
                            try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs WHERE request_id = ? AND outcome = 'denied'", arguments: [requestID])!
                        }
                        let cell = "\(endpoint.method) \(endpoint.path) by \(caller.name) on \(target.name)"
                        cells += 1
                        switch expected {
                        case .allowed:
                            #expect(response.status != .forbidden && response.status != .unauthorized && denied == 0,
                                    "\(cell): expected allowed, answered \(response.status) \(response.text)")
                            if response.status == .notFound && response.errorCode == "not_found" {
                                #expect(endpoint.path.filter { $0 == "{" }.count > 1, "\(cell): allowed but 404 on the record itself")
                            }
                        case .forbidden, .notFound:
                            refused += 1
                            #expect(response.status == (expected == .forbidden ? .forbidden : .notFound),
                                    "\(cell): expected \(expected), answered \(response.status) \(response.text)")
                            #expect(denied >= 1, "\(cell): refusal not audited")
                            #expect(!names.contains { response.text.contains($0) }, "\(cell): a patient's name in a refusal")
                            let after = try await pool.read { db in try Self.fingerprint(db) }
                            #expect(before == after, "\(cell): a refused call changed stored data")
                        }
                        // Undo what an allowed call changes that would decide later cells.
                        if expected == .allowed {
                            try await pool.write { db in
                                try db.execute(sql: "UPDATE patients SET deleted_at = NULL WHERE deleted_at IS NOT NULL")
                                try db.execute(sql: "UPDATE emergency_access_grants SET ended_at = ? WHERE ended_at IS NULL", arguments: [Timestamp.now()])
                                try db.execute(sql: "UPDATE message_templates SET deleted_at = NULL WHERE deleted_at IS NOT NULL")
                                try db.execute(sql: "UPDATE announcements SET retracted_at = NULL, retracted_by = NULL")
                                try db.execute(sql: "UPDATE consents SET revoked_at = NULL, revocation_recorded_by = NULL")
                                try db.execute(sql: "UPDATE documents SET deleted_at = NULL, deleted_by = NULL")
                            }
                            if endpoint.method == .delete && endpoint.path == "/api/v1/patients/{id}" && target.id == p.patientA {
                                let login = try await client.post("/api/v1/auth/patient/login", ["identifier": patientNumber, "password": "patient phone passphrase"])
                                patientToken = try #require(login.json["access_token"] as? String)
                            }
                        }
                    }
                }
            }
            return (cells, refused)
        }
        print("IDOR matrix: \(endpoints.count) routes with an {id} × 7 callers × their targets = \(cells) cells, \(refused) refused")
        #expect(cells > 500)
    }
}
