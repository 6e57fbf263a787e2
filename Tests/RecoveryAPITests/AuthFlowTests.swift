import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

@Suite struct AuthFlowTests {
    /// The seed's whole journey, each step checked the way a client sees it.
    @Test func staffToPatientJourney() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let staff = try await client.post("/api/v1/auth/staff/login", ["email": "DIRECTOR@harborlight.org", "password": TestAppliance.adminPassword])
            #expect(staff.status == .ok)
            #expect(staff.json["token_type"] as? String == "Bearer")
            #expect(staff.json["expires_in"] as? Int == 900)
            let user = staff.json["user"] as? [String: Any]
            #expect(user?["role"] as? String == "admin")
            #expect(user?["facility_id"] as? String == box.facilityID)
            #expect(user?["first_name"] as? String == "Rosalind")
            let staffToken = try #require(staff.json["access_token"] as? String)

            let created = try await client.post("/api/v1/patients", [
                "first_name": "Jordan", "last_name": "Avery", "date_of_birth": "1990-04-12", "level_of_care": "iop",
            ], token: staffToken)
            #expect(created.status == .created)
            let key = try #require(created.json["registration_key"] as? String)
            #expect(key.range(of: "^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$", options: .regularExpression) != nil)
            #expect(created.json["key_expires_at"] is String)
            let patient = try #require(created.json["patient"] as? [String: Any])
            #expect(patient["status"] as? String == "pending_registration")
            let patientNumber = try #require(patient["patient_number"] as? String)

            // Registration accepts the key without dashes and in lower case.
            let typed = key.replacingOccurrences(of: "-", with: "").lowercased()
            let registered = try await client.post("/api/v1/auth/patient/register", [
                "registration_key": typed, "password": "blue heron at dawn 7", "email": "jordan.avery@example.org",
            ])
            #expect(registered.status == .created)
            #expect((registered.json["patient"] as? [String: Any])?["patient_number"] as? String == patientNumber)
            #expect((registered.json["patient"] as? [String: Any])?["status"] as? String == "active")

            let reuse = try await client.post("/api/v1/auth/patient/register", ["registration_key": key, "password": "another long password 9"])
            #expect(reuse.status == .badRequest)
            #expect(reuse.errorCode == "invalid_registration_key")

            for identifier in [patientNumber, "Jordan.Avery@Example.org"] {
                let login = try await client.post("/api/v1/auth/patient/login", ["identifier": identifier, "password": "blue heron at dawn 7"])
                #expect(login.status == .ok, "login with \(identifier)")
            }
            let login = try await client.post("/api/v1/auth/patient/login", ["identifier": patientNumber, "password": "blue heron at dawn 7"])
            let access1 = try #require(login.json["access_token"] as? String)
            let refresh1 = try #require(login.json["refresh_token"] as? String)
            #expect(try await client.get("/api/v1/auth/me", token: access1).json["kind"] as? String == "patient")

            let rotated = try await client.post("/api/v1/auth/refresh", ["refresh_token": refresh1])
            #expect(rotated.status == .ok)
            let access2 = try #require(rotated.json["access_token"] as? String)
            let refresh2 = try #require(rotated.json["refresh_token"] as? String)
            #expect(refresh2 != refresh1)
            #expect(try await client.get("/api/v1/auth/me", token: access2).status == .ok)

            // The old refresh token again: stolen-token detection ends the family.
            let stolen = try await client.post("/api/v1/auth/refresh", ["refresh_token": refresh1])
            #expect(stolen.status == .unauthorized)
            #expect(try await client.post("/api/v1/auth/refresh", ["refresh_token": refresh2]).status == .unauthorized)
            #expect(try await client.get("/api/v1/auth/me", token: access2).status == .unauthorized)
            #expect(try await client.get("/api/v1/auth/me", token: access1).status == .unauthorized)

            // A fresh sign-in, then logout: that access token is refused at once.
            let again = try await client.post("/api/v1/auth/patient/login", ["identifier": patientNumber, "password": "blue heron at dawn 7"])
            let access3 = try #require(again.json["access_token"] as? String)
            #expect(try await client.post("/api/v1/auth/logout", [:], token: access3).status == .noContent)
            let after = try await client.get("/api/v1/auth/me", token: access3)
            #expect(after.status == .unauthorized)
            #expect(after.headers[.wwwAuthenticate] == "Bearer")
            #expect(try await client.post("/api/v1/auth/refresh", ["refresh_token": again.json["refresh_token"] as? String]).status == .unauthorized)
        }
        let actions = try await box.appliance.database.pool.read { db in try String.fetchAll(db, sql: "SELECT action FROM audit_logs ORDER BY seq") }
        for action in ["auth.login", "patient.create", "auth.patient_registered", "auth.registration_failed", "auth.refresh_reuse_detected", "auth.logout"] {
            #expect(actions.contains(action), "audit lacks \(action)")
        }
        #expect(try await box.appliance.database.pool.read { db in try box.appliance.audit.verify(in: db) } == .intact(entries: actions.count))
    }

    @Test func parallelRegistrationsWithOneKeyLetExactlyOneThrough() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let token = try await client.staffToken()
            let (_, key) = try await client.createPatient(token: token)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<12 {
                    group.addTask {
                        try await client.post("/api/v1/auth/patient/register", ["registration_key": key, "password": "parallel attempt number \(index)"]).status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 1)
            #expect(statuses.filter { $0 == .badRequest }.count == 11)
        }
    }

    @Test func parallelRefreshesOfOneTokenLetExactlyOneThrough() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let login = try await client.post("/api/v1/auth/staff/login", ["email": TestAppliance.adminEmail, "password": TestAppliance.adminPassword])
            let refresh = try #require(login.json["refresh_token"] as? String)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<6 { group.addTask { try await client.post("/api/v1/auth/refresh", ["refresh_token": refresh]).status } }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .ok }.count == 1)
            #expect(statuses.filter { $0 == .unauthorized }.count == 5)
        }
    }

    @Test func wrongExpiredRevokedAndUsedKeysLookTheSame() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let token = try await client.staffToken()
            let (_, used) = try await client.createPatient(token: token, first: "Used")
            #expect(try await client.post("/api/v1/auth/patient/register", ["registration_key": used, "password": "first registration ok"]).status == .created)
            let (expiredID, expired) = try await client.createPatient(token: token, first: "Expired")
            try await box.appliance.database.pool.write { db in
                try db.execute(sql: "UPDATE registration_keys SET created_at = '2020-01-01T00:00:00.000Z', expires_at = '2020-01-03T00:00:00.000Z' WHERE patient_id = ?", arguments: [expiredID])
            }
            let (revokedID, revoked) = try await client.createPatient(token: token, first: "Revoked")
            #expect(try await client.delete("/api/v1/patients/\(revokedID)/registration-key", token: token).status == .noContent)
            let (supersededID, superseded) = try await client.createPatient(token: token, first: "Superseded")
            let newKey = try await client.post("/api/v1/patients/\(supersededID)/registration-key", [:], token: token)
            #expect(newKey.status == .created)
            #expect(newKey.json["registration_key"] as? String != superseded)

            var shapes = Set<String>()
            for key in [used, expired, revoked, superseded, "ABCD-EFGH-JKMN", "not a key at all"] {
                let response = try await client.post("/api/v1/auth/patient/register", ["registration_key": key, "password": "some long password 42"])
                #expect(response.status == .badRequest)
                var body = response.json
                body.removeValue(forKey: "request_id")
                shapes.insert(String(decoding: try JSONSerialization.data(withJSONObject: body, options: .sortedKeys), as: UTF8.self))
            }
            #expect(shapes.count == 1, "\(shapes)")
            let fresh = try #require(newKey.json["registration_key"] as? String)
            #expect(try await client.post("/api/v1/auth/patient/register", ["registration_key": fresh, "password": "second patient is fine"]).status == .created)
            #expect(try await client.post("/api/v1/patients/\(supersededID)/registration-key", [:], token: token).status == .conflict)
            #expect(try await client.delete("/api/v1/patients/\(supersededID)/registration-key", token: token).status == .notFound)
        }
    }

    @Test func unknownAccountAndWrongPasswordAnswerAlike() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let wrong = try await client.post("/api/v1/auth/staff/login", ["email": TestAppliance.adminEmail, "password": "not the password at all"])
            let unknown = try await client.post("/api/v1/auth/staff/login", ["email": "nobody@harborlight.org", "password": "not the password at all"])
            #expect(wrong.status == .unauthorized && unknown.status == .unauthorized)
            #expect(wrong.json["error"] as? NSDictionary == unknown.json["error"] as? NSDictionary)
            let patient = try await client.post("/api/v1/auth/patient/login", ["identifier": "P-999999", "password": "not the password at all"])
            #expect(patient.status == .unauthorized)
            #expect(patient.errorCode == "invalid_credentials")
        }
    }

    @Test func repeatedFailuresLockTheAccountWhetherOrNotItExists() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            for email in [TestAppliance.adminEmail, "ghost@harborlight.org"] {
                for _ in 0..<5 {
                    #expect(try await client.post("/api/v1/auth/staff/login", ["email": email, "password": "wrong guess here"]).status == .unauthorized)
                }
                let locked = try await client.post("/api/v1/auth/staff/login", ["email": email, "password": TestAppliance.adminPassword])
                #expect(locked.status == .tooManyRequests)
                #expect(locked.errorCode == "too_many_attempts")
                let wait = Int(locked.headers[.retryAfter] ?? "") ?? 0
                #expect(wait > 0 && wait <= 15 * 60)
            }
        }
        let locks = try await box.appliance.database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs WHERE action = 'auth.account_locked'")
        }
        #expect(locks == 2)
    }

    @Test func failedRegistrationsAreLimitedPerAddress() async throws {
        let box = try await TestAppliance { $0.addressFailureLimit = 3 }
        let throttle = box.appliance.throttle
        // The in-process client has no peer address; count under a fixed one as the live server would.
        try await box.appliance.database.pool.write { db in
            for _ in 0..<3 { _ = try throttle.reserve(.registration, account: nil, address: "192.0.2.7", in: db) }
        }
        let wait = try await box.appliance.database.pool.read { db in try throttle.retryAfter(.registration, account: nil, address: "192.0.2.7", in: db) }
        #expect(wait != nil)
        let other = try await box.appliance.database.pool.read { db in try throttle.retryAfter(.registration, account: nil, address: "192.0.2.8", in: db) }
        #expect(other == nil)
    }

    @Test func tokensAndRolesGuardTheRoutes() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let token = try await client.staffToken()
            let (_, key) = try await client.createPatient(token: token)
            let registered = try await client.post("/api/v1/auth/patient/register", ["registration_key": key, "password": "patient owns this phone"])
            let patientToken = try #require(registered.json["access_token"] as? String)
            let forbidden = try await client.post("/api/v1/patients", ["first_name": "A", "last_name": "B", "date_of_birth": "1990-01-01"], token: patientToken)
            #expect(forbidden.status == .forbidden)
            #expect(forbidden.errorCode == "forbidden")
            #expect(try await client.post("/api/v1/patients", ["first_name": "A"]).status == .unauthorized)
            #expect(try await client.get("/api/v1/auth/me", token: "garbage.token.here").status == .unauthorized)
            var tampered = Array(token)
            tampered[tampered.count - 3] = tampered[tampered.count - 3] == "A" ? "B" : "A"
            #expect(try await client.get("/api/v1/auth/me", token: String(tampered)).status == .unauthorized)
        }
    }

    @Test func changingThePasswordEndsTheOtherSessions() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let laptop = try await client.staffToken()
            let desktop = try await client.staffToken()
            let sessions = try await client.get("/api/v1/auth/sessions", token: laptop)
            #expect((sessions.json["data"] as? [[String: Any]])?.count == 2)
            let weak = try await client.post("/api/v1/auth/change-password", ["current_password": TestAppliance.adminPassword, "new_password": "short"], token: laptop)
            #expect(weak.status == .unprocessableContent)
            #expect(weak.errorFields == ["new_password"])
            let wrong = try await client.post("/api/v1/auth/change-password", ["current_password": "not my password!", "new_password": "a brand new passphrase"], token: laptop)
            #expect(wrong.errorFields == ["current_password"])
            #expect(try await client.post("/api/v1/auth/change-password", ["current_password": TestAppliance.adminPassword, "new_password": "a brand new passphrase"], token: laptop).status == .noContent)
            #expect(try await client.get("/api/v1/auth/me", token: laptop).status == .ok)
            #expect(try await client.get("/api/v1/auth/me", token: desktop).status == .unauthorized)
            #expect(try await client.post("/api/v1/auth/staff/login", ["email": TestAppliance.adminEmail, "password": TestAppliance.adminPassword]).status == .unauthorized)
            #expect(try await client.post("/api/v1/auth/staff/login", ["email": TestAppliance.adminEmail, "password": "a brand new passphrase"]).status == .ok)
        }
    }

    @Test func aSessionCanBeEndedFromAnother() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let phone = try await client.staffToken()
            let desk = try await client.staffToken()
            let list = try #require(try await client.get("/api/v1/auth/sessions", token: desk).json["data"] as? [[String: Any]])
            let other = try #require(list.first { $0["current"] as? Bool == false }?["id"] as? String)
            #expect(try await client.delete("/api/v1/auth/sessions/\(other)", token: desk).status == .noContent)
            #expect(try await client.get("/api/v1/auth/me", token: phone).status == .unauthorized)
            #expect(try await client.get("/api/v1/auth/me", token: desk).status == .ok)
            #expect(try await client.delete("/api/v1/auth/sessions/\(UUID().uuidString)", token: desk).status == .notFound)
        }
    }

    @Test func badBodiesAnswer4xxNamingTheFieldAndChangeNothing() async throws {
        let box = try await TestAppliance()
        let before = try await box.appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM patients") }
        try await box.test { client in
            let token = try await client.staffToken()
            var headers = jsonHeaders
            headers[.authorization] = "Bearer \(token)"
            let broken = try await client.execute(uri: "/api/v1/patients", method: .post, headers: headers, body: ByteBuffer(string: "{\"first_name\": "))
            #expect(broken.status == .badRequest)
            #expect(broken.errorCode == "invalid_json")
            let missing = try await client.post("/api/v1/patients", ["first_name": "Ann"], token: token)
            #expect(missing.status == .unprocessableContent)
            #expect(missing.errorFields == ["last_name"] || missing.errorFields == ["date_of_birth"])
            let typed = try await client.post("/api/v1/patients", ["first_name": 42, "last_name": "B", "date_of_birth": "1990-01-01"], token: token)
            #expect(typed.errorFields == ["first_name"])
            let invalid = try await client.post("/api/v1/patients", [
                "first_name": " ", "last_name": "B", "date_of_birth": "1990-02-30", "level_of_care": "spa", "sobriety_date": "2999-01-01",
            ], token: token)
            #expect(Set(invalid.errorFields) == ["first_name", "date_of_birth", "level_of_care", "sobriety_date"])
            var textHeaders = headers
            textHeaders[.contentType] = "text/plain"
            let text = try await client.execute(uri: "/api/v1/patients", method: .post, headers: textHeaders, body: ByteBuffer(string: "hello"))
            #expect(text.status == .unsupportedMediaType)
            let login = try await client.post("/api/v1/auth/staff/login", ["email": TestAppliance.adminEmail])
            #expect(login.errorFields == ["password"])
            #expect(try await client.get("/api/v1/health").status == .ok)
        }
        let after = try await box.appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM patients") }
        #expect(after == before)
    }

    @Test func noKeyPasswordOrTokenIsStoredInPlainText() async throws {
        let box = try await TestAppliance()
        var secrets: [String] = [TestAppliance.adminPassword, "blue heron at dawn 7", "Jordan", "Avery", "jordan.avery@example.org"]
        secrets += try await box.test { client -> [String] in
            var secrets: [String] = []
            let login = try await client.post("/api/v1/auth/staff/login", ["email": TestAppliance.adminEmail, "password": TestAppliance.adminPassword])
            let token = try #require(login.json["access_token"] as? String)
            secrets += [token, try #require(login.json["refresh_token"] as? String)]
            let (_, key) = try await client.createPatient(token: token)
            secrets += [key, key.replacingOccurrences(of: "-", with: "")]
            let registered = try await client.post("/api/v1/auth/patient/register", ["registration_key": key, "password": "blue heron at dawn 7", "email": "jordan.avery@example.org"])
            secrets += [try #require(registered.json["refresh_token"] as? String)]
            let rotated = try await client.post("/api/v1/auth/refresh", ["refresh_token": registered.json["refresh_token"] as? String])
            secrets += [try #require(rotated.json["refresh_token"] as? String)]
            return secrets
        }
        let raw = databaseBytes(box.appliance.settings)
        #expect(raw.count > 100_000)
        #expect(raw.contains(text: "Harbor Light Clinic"), "the search must find plain business data")
        for secret in secrets { #expect(!raw.contains(text: secret), "found a secret in the database files") }
    }
}

/// The raw bytes of the database file and its WAL.
func databaseBytes(_ settings: Settings) -> Data {
    var data = Data()
    for suffix in ["", "-wal"] {
        if let bytes = FileManager.default.contents(atPath: settings.databasePath + suffix) { data.append(bytes) }
    }
    return data
}

extension Data {
    func contains(text: String) -> Bool { range(of: Data(text.utf8)) != nil }
}
