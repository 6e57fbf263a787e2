import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
@testable import RecoveryAPI
@testable import RecoveryCore

/// Small helpers to drive the API like a client would.
extension TestClientProtocol {
    @discardableResult
    func post(_ uri: String, _ body: [String: Any?], token: String? = nil) async throws -> TestResponse {
        var headers = jsonHeaders
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .post, headers: headers, body: jsonBody(body.compactMapValues { $0 }))
    }

    @discardableResult
    func get(_ uri: String, token: String? = nil) async throws -> TestResponse {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .get, headers: headers)
    }

    @discardableResult
    func delete(_ uri: String, token: String? = nil) async throws -> TestResponse {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .delete, headers: headers)
    }

    func staffToken(_ email: String = TestAppliance.adminEmail, _ password: String = TestAppliance.adminPassword) async throws -> String {
        let response = try await post("/api/v1/auth/staff/login", ["email": email, "password": password])
        guard let token = response.json["access_token"] as? String else { throw TestFailure("login failed: \(response.status) \(response.text)") }
        return token
    }

    /// Signs in with an administrator-set password and replaces it, as a new
    /// staff member must first; returns that session's access token.
    func staffTokenAfterFirstChange(_ email: String, temporary: String, final: String) async throws -> String {
        let token = try await staffToken(email, temporary)
        let changed = try await post("/api/v1/auth/change-password", ["current_password": temporary, "new_password": final], token: token)
        guard changed.status == .noContent else { throw TestFailure("password change failed: \(changed.status) \(changed.text)") }
        return token
    }

    /// Creates a patient as `token`'s staff member; returns (patient id, key).
    func createPatient(token: String, first: String = "Jordan", last: String = "Avery") async throws -> (id: String, key: String) {
        let response = try await post("/api/v1/patients", ["first_name": first, "last_name": last, "date_of_birth": "1990-04-12"], token: token)
        guard response.status == .created, let patient = response.json["patient"] as? [String: Any],
              let id = patient["id"] as? String, let key = response.json["registration_key"] as? String
        else { throw TestFailure("create failed: \(response.status) \(response.text)") }
        return (id, key)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
