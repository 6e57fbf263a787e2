import Foundation
import GRDB
import Hummingbird
import HummingbirdOTP
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

@Suite struct MFATests {
    func code(_ secret: String, offsetSteps: Int = 0) -> String {
        String(format: "%06d", TOTP(secret: secret).compute(date: Date().addingTimeInterval(TimeInterval(offsetSteps * 30))))
    }

    @Test func aFacilityThatRequiresItHasTheAdminEnrolAtFirstSignIn() async throws {
        let box = try await TestAppliance(mfaPolicy: "admins")
        try await box.test { client in
            let first = try await client.post("/api/v1/auth/staff/login", ["email": TestAppliance.adminEmail, "password": TestAppliance.adminPassword])
            #expect(first.status == .ok)
            #expect(first.json["access_token"] == nil)
            #expect(first.json["mfa_enrolment_required"] as? Bool == true)
            let challenge = try #require(first.json["mfa_token"] as? String)
            // The challenge is not an access token.
            #expect(try await client.get("/api/v1/auth/me", token: challenge).status == .unauthorized)

            let setup = try await client.post("/api/v1/auth/mfa/enrol/setup", ["mfa_token": challenge])
            let secret = try #require(setup.json["secret"] as? String)
            #expect((setup.json["otpauth_uri"] as? String)?.hasPrefix("otpauth://totp/") == true)
            #expect(try await client.post("/api/v1/auth/mfa/enrol/confirm", ["mfa_token": challenge, "code": "000000"]).status == .unauthorized)
            let confirmed = try await client.post("/api/v1/auth/mfa/enrol/confirm", ["mfa_token": challenge, "code": code(secret)])
            #expect(confirmed.status == .ok)
            #expect(confirmed.json["access_token"] is String)
            let recovery = try #require(confirmed.json["recovery_codes"] as? [String])
            #expect(recovery.count == 10)
            #expect(try await client.post("/api/v1/auth/mfa/enrol/confirm", ["mfa_token": challenge, "code": code(secret, offsetSteps: 1)]).status == .unauthorized)

            // Later sign-ins take two steps.
            let second = try await client.post("/api/v1/auth/staff/login", ["email": TestAppliance.adminEmail, "password": TestAppliance.adminPassword])
            #expect(second.json["mfa_enrolment_required"] as? Bool == false)
            let token2 = try #require(second.json["mfa_token"] as? String)
            #expect(try await client.post("/api/v1/auth/mfa/verify", ["mfa_token": token2, "code": "123456"]).errorCode == "invalid_mfa_code")
            let verified = try await client.post("/api/v1/auth/mfa/verify", ["mfa_token": token2, "code": code(secret, offsetSteps: 1)])
            #expect(verified.status == .ok)
            #expect(verified.json["access_token"] is String)
            #expect(try await client.post("/api/v1/auth/mfa/verify", ["mfa_token": token2, "code": code(secret, offsetSteps: 1)]).status == .unauthorized)

            // A recovery code works once.
            for expected in [HTTPResponse.Status.ok, .unauthorized] {
                let login = try await client.post("/api/v1/auth/staff/login", ["email": TestAppliance.adminEmail, "password": TestAppliance.adminPassword])
                let token = try #require(login.json["mfa_token"] as? String)
                #expect(try await client.post("/api/v1/auth/mfa/verify", ["mfa_token": token, "code": recovery[0].uppercased()]).status == expected)
            }
        }
        let actions = try await box.appliance.database.pool.read { db in try String.fetchAll(db, sql: "SELECT action FROM audit_logs") }
        #expect(actions.contains("auth.mfa_enrolled") && actions.contains("auth.mfa_failed"))
        let raw = databaseBytes(box.appliance.settings)
        let secret = try await box.appliance.database.pool.read { db -> String in
            let sealed = try Data.fetchOne(db, sql: "SELECT totp_secret_enc FROM staff")!
            return try box.appliance.cipher.openString(sealed, field: .staffTotpSecret, rowID: box.adminID)
        }
        #expect(!raw.contains(text: secret))
    }

    @Test func staffCanEnrolVoluntarilyAndThenNeedTheCode() async throws {
        let box = try await TestAppliance(mfaPolicy: "none")
        try await box.test { client in
            let token = try await client.staffToken()
            let setup = try await client.post("/api/v1/auth/mfa/totp/setup", [:], token: token)
            let secret = try #require(setup.json["secret"] as? String)
            #expect(try await client.post("/api/v1/auth/mfa/totp/confirm", ["code": "999999"], token: token).status == .unauthorized)
            let confirmed = try await client.post("/api/v1/auth/mfa/totp/confirm", ["code": code(secret)], token: token)
            #expect((confirmed.json["recovery_codes"] as? [String])?.count == 10)
            #expect(try await client.post("/api/v1/auth/mfa/totp/setup", [:], token: token).status == .conflict)
            let login = try await client.post("/api/v1/auth/staff/login", ["email": TestAppliance.adminEmail, "password": TestAppliance.adminPassword])
            #expect(login.json["mfa_required"] as? Bool == true)
        }
    }
}
