import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

/// A password an administrator chose (new account, reset) is replaced by the
/// account's own at first sign-in: until then the session can only change it.
@Suite struct AdministratorSetPasswordTests {
    static let temporary = "handed over at the desk 4"

    @Test func aNewStaffMemberMustChooseTheirOwnPasswordFirst() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let admin = try await client.staffToken()
            let created = try await client.post("/api/v1/staff", ["email": "new.nurse@harborlight.org", "first_name": "Noor", "last_name": "Haddad",
                                                                 "role": "nurse", "password": Self.temporary], token: admin)
            #expect(created.status == .created)
            let login = try await client.post("/api/v1/auth/staff/login", ["email": "new.nurse@harborlight.org", "password": Self.temporary])
            #expect(login.status == .ok)
            #expect(login.json["password_change_required"] as? Bool == true)
            let token = try #require(login.json["access_token"] as? String)
            let refresh = try #require(login.json["refresh_token"] as? String)

            // Everything else answers 403 password_change_required, even after a refresh.
            let refused = try await client.get("/api/v1/patients", token: token)
            #expect(refused.status == .forbidden)
            #expect(refused.errorCode == "password_change_required")
            #expect(try await client.get("/api/v1/auth/sessions", token: token).errorCode == "password_change_required")
            let rotated = try #require(try await client.post("/api/v1/auth/refresh", ["refresh_token": refresh]).json["access_token"] as? String)
            #expect(try await client.get("/api/v1/patients", token: rotated).errorCode == "password_change_required")
            #expect(try await client.get("/api/v1/auth/me", token: rotated).status == .ok)

            // The change itself keeps its rules, then the same session works.
            #expect(try await client.post("/api/v1/auth/change-password", ["current_password": Self.temporary, "new_password": Self.temporary],
                                          token: rotated).errorFields == ["new_password"])
            #expect(try await client.post("/api/v1/auth/change-password", ["current_password": Self.temporary, "new_password": "my own night shift phrase"],
                                          token: rotated).status == .noContent)
            #expect(try await client.get("/api/v1/patients", token: rotated).status == .ok)
            let next = try await client.post("/api/v1/auth/staff/login", ["email": "new.nurse@harborlight.org", "password": "my own night shift phrase"])
            #expect(next.json["password_change_required"] as? Bool == false)
        }
    }

    @Test func anAdministratorsPasswordResetEndsSessionsAndMustBeReplaced() async throws {
        let box = try await TestAppliance()
        let hash = try await box.appliance.passwords.hash("quiet river stones 8")
        let counselorID = try await box.appliance.database.pool.write { db in
            try box.appliance.staffStore.insert(.init(facilityID: box.facilityID, role: .counselor, email: "casey@harborlight.org",
                                                      firstName: "Casey", lastName: "Moore", passwordHash: hash), in: db)
        }
        try await box.test { client in
            let admin = try await client.staffToken()
            let counselor = try await client.staffToken("casey@harborlight.org", "quiet river stones 8")
            #expect(try await client.post("/api/v1/staff/\(counselorID)/password", ["password": "short"], token: admin).errorFields == ["password"])
            #expect(try await client.post("/api/v1/staff/\(counselorID)/password", [:], token: admin).errorFields == ["password"])
            #expect(try await client.post("/api/v1/staff/\(box.adminID)/password", ["password": Self.temporary], token: counselor).status == .forbidden)
            #expect(try await client.post("/api/v1/staff/\(box.adminID)/password", ["password": Self.temporary], token: admin).errorCode == "cannot_reset_self")
            // Nothing changed so far.
            #expect(try await client.get("/api/v1/auth/me", token: counselor).status == .ok)
            // Guesses at a forgotten password lock the account; the reset lifts the lock.
            for _ in 0..<5 { try await client.post("/api/v1/auth/staff/login", ["email": "casey@harborlight.org", "password": "was it this one"]) }
            #expect(try await client.post("/api/v1/auth/staff/login", ["email": "casey@harborlight.org", "password": "was it this one"]).status == .tooManyRequests)

            #expect(try await client.post("/api/v1/staff/\(counselorID)/password", ["password": Self.temporary], token: admin).status == .noContent)
            #expect(try await client.get("/api/v1/auth/me", token: counselor).status == .unauthorized)
            #expect(try await client.post("/api/v1/auth/staff/login", ["email": "casey@harborlight.org", "password": "quiet river stones 8"]).status == .unauthorized)
            let login = try await client.post("/api/v1/auth/staff/login", ["email": "casey@harborlight.org", "password": Self.temporary])
            #expect(login.status == .ok)
            #expect(login.json["password_change_required"] as? Bool == true)
            let token = try #require(login.json["access_token"] as? String)
            #expect(try await client.get("/api/v1/patients", token: token).errorCode == "password_change_required")
        }
        let actions = try await box.appliance.database.pool.read { db in try String.fetchAll(db, sql: "SELECT action FROM audit_logs") }
        #expect(actions.filter { $0 == "staff.password_reset" }.count == 1)
        // A restart remembers who still has to change their password.
        let (reopened, _) = try Appliance.open(settings: box.appliance.settings, passwordCost: .minimum)
        #expect(reopened.pendingPasswordChanges.contains(counselorID))
        #expect(!reopened.pendingPasswordChanges.contains(box.adminID))
        try reopened.database.close()
    }
}
