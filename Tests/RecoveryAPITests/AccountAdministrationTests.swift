import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

@Suite struct AccountAdministrationTests {
    /// Adds a counselor to the test facility (set-up through the real store).
    func addCounselor(_ box: TestAppliance, email: String = "counselor@harborlight.org", password: String = "quiet river stones 8") async throws -> String {
        let hash = try await box.appliance.passwords.hash(password)
        return try await box.appliance.database.pool.write { db in
            try box.appliance.staffStore.insert(.init(facilityID: box.facilityID, role: .counselor, email: email,
                                                      firstName: "Casey", lastName: "Moore", passwordHash: hash), in: db)
        }
    }

    @Test func deactivatingStaffEndsAllTheirSessionsAtOnce() async throws {
        let box = try await TestAppliance()
        let counselorID = try await addCounselor(box)
        try await box.test { client in
            let admin = try await client.staffToken()
            let login = try await client.post("/api/v1/auth/staff/login", ["email": "counselor@harborlight.org", "password": "quiet river stones 8"])
            let access = try #require(login.json["access_token"] as? String)
            let refresh = try #require(login.json["refresh_token"] as? String)
            #expect(try await client.get("/api/v1/auth/me", token: access).status == .ok)
            // A counselor may not deactivate anyone.
            #expect(try await client.delete("/api/v1/staff/\(box.adminID)", token: access).status == .forbidden)

            #expect(try await client.delete("/api/v1/staff/\(counselorID)", token: admin).status == .noContent)
            #expect(try await client.get("/api/v1/auth/me", token: access).status == .unauthorized)
            #expect(try await client.post("/api/v1/auth/refresh", ["refresh_token": refresh]).status == .unauthorized)
            #expect(try await client.post("/api/v1/auth/staff/login", ["email": "counselor@harborlight.org", "password": "quiet river stones 8"]).status == .unauthorized)
            #expect(try await client.delete("/api/v1/staff/\(box.adminID)", token: admin).status == .conflict)
            #expect(try await client.delete("/api/v1/staff/\(UUID().uuidString)", token: admin).status == .notFound)
        }
        let active = try await box.appliance.database.pool.read { db in try Bool.fetchOne(db, sql: "SELECT is_active FROM staff WHERE id = ?", arguments: [counselorID]) }
        #expect(active == false)
    }

    @Test func anAdminCanLiftALockEarly() async throws {
        let box = try await TestAppliance()
        let counselorID = try await addCounselor(box)
        try await box.test { client in
            for _ in 0..<5 { try await client.post("/api/v1/auth/staff/login", ["email": "counselor@harborlight.org", "password": "not it at all"]) }
            #expect(try await client.post("/api/v1/auth/staff/login", ["email": "counselor@harborlight.org", "password": "quiet river stones 8"]).status == .tooManyRequests)
            let admin = try await client.staffToken()
            #expect(try await client.post("/api/v1/staff/\(counselorID)/unlock", [:], token: admin).status == .noContent)
            #expect(try await client.post("/api/v1/auth/staff/login", ["email": "counselor@harborlight.org", "password": "quiet river stones 8"]).status == .ok)
        }
    }

    @Test func weakerPasswordHashesAreUpgradedAtSignIn() async throws {
        let box = try await TestAppliance()
        let before = try await box.appliance.database.pool.read { db in try String.fetchOne(db, sql: "SELECT password_hash FROM staff WHERE id = ?", arguments: [box.adminID])! }
        // The same data directory opened by a build with stronger parameters.
        let stronger = PasswordHasher.Cost(opsLimit: PasswordHasher.Cost.minimum.opsLimit + 1, memLimit: PasswordHasher.Cost.minimum.memLimit)
        let (upgraded, _) = try Appliance.open(settings: box.appliance.settings, passwordCost: stronger)
        #expect(upgraded.passwords.needsRehash(before))
        let outcome = try await AuthService(appliance: upgraded).staffLogin(email: TestAppliance.adminEmail, password: TestAppliance.adminPassword, origin: .init())
        guard case .signedIn = outcome else { Issue.record("not signed in"); return }
        let after = try await upgraded.database.pool.read { db in try String.fetchOne(db, sql: "SELECT password_hash FROM staff WHERE id = ?", arguments: [box.adminID])! }
        #expect(after != before)
        #expect(!upgraded.passwords.needsRehash(after))
        #expect(try await upgraded.passwords.verify(TestAppliance.adminPassword, against: after))
    }
}
