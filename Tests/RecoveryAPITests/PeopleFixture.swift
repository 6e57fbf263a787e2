import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import RecoveryAPI
@testable import RecoveryCore

/// Two facilities on one box with staff of every role and a few patients,
/// built through the API wherever an endpoint exists. Tokens are fetched by
/// signing in like a client.
struct People: Sendable {
    static let password = "shared staff passphrase 7"
    /// What an administrator sets when creating an account; replaced at first sign-in.
    static let temporaryPassword = "temporary staff passphrase 3"

    var facilityA: String
    var facilityB: String
    var superAdmin: String
    var adminA: String
    var adminB: String
    var counselorA1: String
    var counselorA2: String
    var frontDeskA: String
    var nurseA: String
    var counselorA1ID: String
    var counselorA2ID: String
    /// On counselor A1's caseload.
    var patientA: String
    var patientA2: String
    var patientB: String
    var patientToken: String

    /// A staff member created by `token`'s administrator, who has replaced the
    /// administrator-set password with `password`; returns the id.
    static func addStaff(_ client: any TestClientProtocol, by token: String, _ email: String, _ role: String,
                         facility: String? = nil) async throws -> String {
        let r = try await client.post("/api/v1/staff", ["email": email, "first_name": "S", "last_name": role.capitalized,
                                                        "role": role, "password": temporaryPassword, "facility_id": facility], token: token)
        guard let id = (r.json["staff"] as? [String: Any])?["id"] as? String else { throw TestFailure("staff: \(r.text)") }
        _ = try await client.staffTokenAfterFirstChange(email, temporary: temporaryPassword, final: password)
        return id
    }

    static func make(_ box: TestAppliance, _ client: any TestClientProtocol) async throws -> People {
        let hash = try await box.appliance.passwords.hash(password)
        try await box.appliance.database.pool.write { db in
            try box.appliance.staffStore.insert(.init(facilityID: nil, role: .superAdmin, email: "root@box.example",
                                                      firstName: "Root", lastName: "Admin", passwordHash: hash), in: db)
            try db.execute(sql: "UPDATE staff SET mfa_exempt = 1 WHERE role = 'super_admin'")
        }
        let root = try await client.staffToken("root@box.example", password)
        let facility = try await client.post("/api/v1/facilities", ["name": "Bayside House", "timezone": "America/Denver", "capacity": 12, "mfa_policy": "none"], token: root)
        guard let facilityB = (facility.json["facility"] as? [String: Any])?["id"] as? String else { throw TestFailure("facility: \(facility.text)") }
        let adminA = try await client.staffToken()
        func staff(_ token: String, _ email: String, _ role: String, facility: String? = nil) async throws -> String {
            try await addStaff(client, by: token, email, role, facility: facility)
        }
        _ = try await staff(root, "admin@bayside.example", "admin", facility: facilityB)
        let c1 = try await staff(adminA, "c1@harborlight.org", "counselor")
        let c2 = try await staff(adminA, "c2@harborlight.org", "counselor")
        _ = try await staff(adminA, "desk@harborlight.org", "staff")
        _ = try await staff(adminA, "nurse@harborlight.org", "nurse")
        let adminB = try await client.staffToken("admin@bayside.example", password)
        let (patientA, keyA) = try await client.createPatient(token: adminA, first: "Marisol", last: "Quenneville")
        let (patientA2, _) = try await client.createPatient(token: adminA, first: "Tobias", last: "Wren")
        let (patientB, _) = try await client.createPatient(token: adminB, first: "Ingrid", last: "Bayside")
        let assigned = try await client.post("/api/v1/patients/\(patientA)/care-team", ["staff_id": c1, "role": "primary_counselor"], token: adminA)
        guard assigned.status == .created else { throw TestFailure("assign: \(assigned.text)") }
        let registered = try await client.post("/api/v1/auth/patient/register", ["registration_key": keyA, "password": "patient phone passphrase"])
        guard let patientToken = registered.json["access_token"] as? String else { throw TestFailure("register: \(registered.text)") }
        return People(
            facilityA: box.facilityID, facilityB: facilityB, superAdmin: root, adminA: adminA, adminB: adminB,
            counselorA1: try await client.staffToken("c1@harborlight.org", password),
            counselorA2: try await client.staffToken("c2@harborlight.org", password),
            frontDeskA: try await client.staffToken("desk@harborlight.org", password),
            nurseA: try await client.staffToken("nurse@harborlight.org", password),
            counselorA1ID: c1, counselorA2ID: c2, patientA: patientA, patientA2: patientA2, patientB: patientB, patientToken: patientToken)
    }
}

extension TestClientProtocol {
    @discardableResult
    func patch(_ uri: String, _ body: [String: Any?], token: String) async throws -> TestResponse {
        var headers = jsonHeaders
        headers[.authorization] = "Bearer \(token)"
        return try await execute(uri: uri, method: .patch, headers: headers, body: jsonBody(body.compactMapValues { $0 }))
    }

    /// Calls `endpoint` with `{id}` set to `id`, other path parameters random,
    /// and a body that passes validation, so only access decides the answer;
    /// `requestID` names the request (to find its audit entries).
    func call(_ endpoint: Endpoint, id: String, token: String, requestID: String? = nil) async throws -> TestResponse {
        var path = endpoint.path.replacingOccurrences(of: "{id}", with: id)
        while let open = path.firstIndex(of: "{"), let close = path.firstIndex(of: "}") {
            path.replaceSubrange(open...close, with: UUID().uuidString.lowercased())
        }
        var headers = jsonHeaders
        headers[.authorization] = "Bearer \(token)"
        if let requestID { headers[HTTPField.Name("X-Request-Id")!] = requestID }
        let body = ValidBodies.for(endpoint)
        return try await execute(uri: path, method: endpoint.method, headers: headers, body: body.map { jsonBody($0) })
    }
}

enum ValidBodies {
    static func `for`(_ endpoint: Endpoint) -> [String: Any]? {
        guard endpoint.method == .post || endpoint.method == .patch else { return nil }
        switch (endpoint.method, endpoint.path) {
        case (.patch, "/api/v1/patients/{id}"): return ["program": "Evening IOP"]
        case (.post, "/api/v1/patients/{id}/sobriety-reset"): return ["sobriety_date": "2026-01-02", "reason": "test"]
        case (.post, "/api/v1/patients/{id}/care-team"): return ["staff_id": UUID().uuidString, "role": "counselor"]
        case (.post, "/api/v1/patients/{id}/access-grants"): return ["staff_id": UUID().uuidString]
        case (.post, "/api/v1/patients/{id}/emergency-access"): return ["reason": "Patient in crisis at the front desk"]
        case (.post, "/api/v1/patients"): return ["first_name": "A", "last_name": "B", "date_of_birth": "1990-01-01"]
        case (.post, "/api/v1/staff"): return ["email": "x@y.org", "first_name": "A", "last_name": "B", "role": "staff", "password": People.password]
        case (.patch, "/api/v1/staff/{id}"): return ["first_name": "A"]
        case (.post, "/api/v1/staff/{id}/password"): return ["password": "a new passphrase to change"]
        case (.post, "/api/v1/auth/mfa/totp/setup"): return ["password": People.password]
        case (.post, "/api/v1/facilities"): return ["name": "X", "timezone": "UTC"]
        case (.patch, "/api/v1/facilities/{id}"): return ["capacity": 3]
        case (.post, "/api/v1/patients/{id}/medications"): return ["name": "Naltrexone", "dose": "50 mg", "schedule": ["times": ["08:00"]]]
        case (.patch, "/api/v1/patients/{id}/medications/{medication_id}"): return ["dose": "25 mg"]
        case (.post, "/api/v1/patients/{id}/goals"): return ["title": "Call my sister every Sunday"]
        case (.patch, "/api/v1/patients/{id}/goals/{goal_id}"): return ["status": "paused"]
        case (.patch, "/api/v1/patients/{id}/flags/{flag_id}"): return ["status": "acknowledged"]
        case (.post, "/api/v1/facilities/{id}/triggers"): return ["code": "work", "label": "Work"]
        case (.post, "/api/v1/facilities/{id}/meetings"): return ["name": "Tuesday group", "kind": "facility_group"]
        case (.patch, "/api/v1/facilities/{id}/recovery-settings"): return ["silence_days": 4]
        case (.post, "/api/v1/emergency-access/{id}/review"): return ["outcome": "appropriate"]
        case (.post, "/api/v1/conversations/{id}/messages"): return ["body": "Checking in before tomorrow"]
        case (.post, "/api/v1/conversations/{id}/read"): return ["up_to_message_id": UUID().uuidString]
        case (.patch, "/api/v1/message-templates/{id}"): return ["title": "Reminder"]
        case (.post, "/api/v1/crisis-alerts/{id}/resolve"): return ["note": "Called the patient; safe at home with family"]
        case (.patch, "/api/v1/announcements/{id}"): return ["title": "Fire drill (moved)"]
        default: return [:]
        }
    }
}
