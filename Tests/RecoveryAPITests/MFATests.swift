import Foundation
import GRDB
import Hummingbird
import HummingbirdOTP
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

@Suite struct MFATests {
    func code(_ shown: String, offsetSteps: Int = 0) -> String { authenticatorCode(shown, offsetSteps: offsetSteps) }

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
            #expect(secret.range(of: "^[A-Z2-7]{52}$", options: .regularExpression) != nil)
            #expect((setup.json["otpauth_uri"] as? String)?.hasPrefix("otpauth://totp/") == true)
            #expect((setup.json["otpauth_uri"] as? String)?.contains("secret=\(secret)&") == true)
            // The same URI as a QR code for the app to scan, drawn for this answer.
            let uri = try #require(setup.json["otpauth_uri"] as? String)
            #expect(setup.json["otpauth_qr_svg"] as? String == (try QRCodeSVG.svg(for: uri, title: "Authenticator key QR code")))
            #expect(setup.json["otpauth_qr_svg"] as? String != (try QRCodeSVG.svg(for: uri + "x", title: "Authenticator key QR code")))
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
            // The current password first: missing 422, wrong 403, both change nothing.
            #expect(try await client.post("/api/v1/auth/mfa/totp/setup", [:], token: token).errorFields == ["password"])
            let wrong = try await client.post("/api/v1/auth/mfa/totp/setup", ["password": "not my password at all"], token: token)
            #expect(wrong.status == .forbidden)
            #expect(wrong.errorCode == "invalid_credentials" && wrong.errorFields == ["password"])
            let setup = try await client.post("/api/v1/auth/mfa/totp/setup", ["password": TestAppliance.adminPassword], token: token)
            let secret = try #require(setup.json["secret"] as? String)
            #expect(try await client.post("/api/v1/auth/mfa/totp/confirm", ["code": "999999"], token: token).status == .unauthorized)
            let confirmed = try await client.post("/api/v1/auth/mfa/totp/confirm", ["code": code(secret)], token: token)
            #expect((confirmed.json["recovery_codes"] as? [String])?.count == 10)
            #expect(try await client.post("/api/v1/auth/mfa/totp/setup", ["password": TestAppliance.adminPassword], token: token).status == .conflict)
            let login = try await client.post("/api/v1/auth/staff/login", ["email": TestAppliance.adminEmail, "password": TestAppliance.adminPassword])
            #expect(login.json["mfa_required"] as? Bool == true)
        }
        let failures = try await box.appliance.database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs WHERE action = 'auth.mfa_setup_failed'")
        }
        #expect(failures == 1)
    }

    /// Wrong passwords at set-up count against the account's sign-in limit,
    /// so a borrowed session cannot guess the password there instead.
    @Test func wrongSetUpPasswordsLockTheAccountLikeWrongSignIns() async throws {
        let box = try await TestAppliance(mfaPolicy: "none")
        try await box.test { client in
            let token = try await client.staffToken()
            for _ in 0..<5 {
                #expect(try await client.post("/api/v1/auth/mfa/totp/setup", ["password": "guessing the password"], token: token).status == .forbidden)
            }
            #expect(try await client.post("/api/v1/auth/mfa/totp/setup", ["password": TestAppliance.adminPassword], token: token).status == .tooManyRequests)
            let login = try await client.post("/api/v1/auth/staff/login", ["email": TestAppliance.adminEmail, "password": TestAppliance.adminPassword])
            #expect(login.status == .tooManyRequests)
        }
    }

    /// A clinician who lost their phone: an administrator of their facility
    /// resets the second factor, their sessions end, and the next sign-in
    /// enrols a new authenticator; the old recovery codes are spent.
    @Test func anAdministratorResetsALostSecondFactor() async throws {
        let box = try await TestAppliance(mfaPolicy: "all_staff")
        let hash = try await box.appliance.passwords.hash("quiet river stones 8")
        let counselorID = try await box.appliance.database.pool.write { db in
            try box.appliance.staffStore.insert(.init(facilityID: box.facilityID, role: .counselor, email: "casey@harborlight.org",
                                                      firstName: "Casey", lastName: "Moore", passwordHash: hash), in: db)
        }
        try await box.test { client in
            func enrol(_ email: String, _ password: String) async throws -> (token: String, recovery: [String]) {
                let login = try await client.post("/api/v1/auth/staff/login", ["email": email, "password": password])
                let challenge = try #require(login.json["mfa_token"] as? String)
                #expect(login.json["mfa_enrolment_required"] as? Bool == true)
                let secret = try #require(try await client.post("/api/v1/auth/mfa/enrol/setup", ["mfa_token": challenge]).json["secret"] as? String)
                let done = try await client.post("/api/v1/auth/mfa/enrol/confirm", ["mfa_token": challenge, "code": code(secret)])
                return (try #require(done.json["access_token"] as? String), try #require(done.json["recovery_codes"] as? [String]))
            }
            let admin = try await enrol(TestAppliance.adminEmail, TestAppliance.adminPassword)
            let counselor = try await enrol("casey@harborlight.org", "quiet river stones 8")

            #expect(try await client.delete("/api/v1/staff/\(box.adminID)/mfa", token: counselor.token).status == .forbidden)
            #expect(try await client.delete("/api/v1/staff/\(box.adminID)/mfa", token: admin.token).errorCode == "cannot_reset_self")
            #expect(try await client.delete("/api/v1/staff/\(UUID().uuidString)/mfa", token: admin.token).status == .notFound)
            #expect(try await client.delete("/api/v1/staff/\(counselorID)/mfa", token: admin.token).status == .noContent)
            #expect(try await client.get("/api/v1/auth/me", token: counselor.token).status == .unauthorized)

            let again = try await client.post("/api/v1/auth/staff/login", ["email": "casey@harborlight.org", "password": "quiet river stones 8"])
            #expect(again.json["mfa_enrolment_required"] as? Bool == true)
            #expect(try await client.post("/api/v1/auth/mfa/verify", ["mfa_token": again.json["mfa_token"] as? String, "code": counselor.recovery[0]]).status == .unauthorized)
            _ = try await enrol("casey@harborlight.org", "quiet river stones 8")
        }
        // The ten codes of the first enrolment are spent; only the new enrolment's ten are left.
        let unused = try await box.appliance.database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM staff_mfa_recovery_codes WHERE staff_id = ? AND used_at IS NULL", arguments: [counselorID])
        }
        #expect(unused == 10)
        let reset = try await box.appliance.database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT actor_id, resource_id FROM audit_logs WHERE action = 'staff.mfa_reset' AND outcome = 'success'")
        }
        #expect(reset?["actor_id"] as String? == box.adminID && reset?["resource_id"] as String? == counselorID)
    }
}
