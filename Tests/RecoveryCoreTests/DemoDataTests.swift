import Foundation
import GRDB
import Testing
@testable import RecoveryCore

/// The demo data set goes only on a box holding nothing but what `init`
/// made, and never weakens the box's second-factor policy.
@Suite struct DemoDataTests {
    func initialisedBox(_ dir: TemporaryDirectory) async throws -> Appliance {
        let settings = testSettings(dir)
        _ = try await ApplianceSetup.initialise(settings: settings, request: ApplianceSetupTests.request, passwordCost: .minimum)
        return try Appliance.open(settings: settings, passwordCost: .minimum).0
    }

    func counts(_ appliance: Appliance) async throws -> [Int] {
        try await appliance.database.pool.read { db in
            try ["facilities", "staff", "patients", "settings"].map { try Int.fetchOne(db, sql: "SELECT count(*) FROM \($0)")! }
        }
    }

    @Test func aBoxWithItsOwnRecordsIsRefusedAndNothingIsWritten() async throws {
        let dir = TemporaryDirectory()
        let appliance = try await initialisedBox(dir)
        let facilityID = try await appliance.database.pool.read { db in try String.fetchOne(db, sql: "SELECT id FROM facilities")! }
        try await appliance.database.pool.write { db in
            try appliance.patientStore.insert(.init(facilityID: facilityID, firstName: "Real", lastName: "Person", dateOfBirth: "1980-01-01",
                                                    levelOfCare: "iop", status: "active"), in: db)
        }
        let before = try await counts(appliance)
        await #expect(throws: DemoData.Refused(found: ["1 patients"])) { try await DemoData.seed(appliance) }
        #expect(try await counts(appliance) == before)
    }

    @Test func demoAccountsAreExemptOneByOneUntilTheirPasswordChanges() async throws {
        let dir = TemporaryDirectory()
        let appliance = try await initialisedBox(dir)
        #expect(try await DemoData.seed(appliance) == .seeded("facility \"Serenity Recovery Center\", 1 super admin, 5 staff, 5 patients"))
        #expect(try await DemoData.seed(appliance) == .alreadySeeded)
        let superAdmin = try #require(try await appliance.database.pool.read { db in
            try appliance.staffStore.account(email: DemoData.superAdminEmail, in: db)
        })
        #expect(superAdmin.mfaExempt)
        #expect(try await DemoData.accountsWithDocumentedPasswords(appliance).count == 6)
        var otherSuperAdmin = superAdmin
        otherSuperAdmin.mfaExempt = false
        let other = otherSuperAdmin
        let (exempt, exemptCount, boxSetting, otherRequired) = try await appliance.database.pool.read { db in
            (try MFAPolicy.requires(superAdmin, in: db) == false, try Int.fetchOne(db, sql: "SELECT count(*) FROM staff WHERE mfa_exempt = 1"),
             try BoxSetting.get("super_admin_mfa_required", in: db), try MFAPolicy.requires(other, in: db))
        }
        #expect(exempt)
        // Only the six demo accounts: the box's own administrator is untouched, and
        // another super admin still needs a second factor.
        #expect(exemptCount == 6)
        #expect(boxSetting == nil)
        #expect(otherRequired)

        let identity = Identity(kind: .staff, subjectID: superAdmin.id, role: .superAdmin, facilityID: nil, sessionID: "demo")
        try await AuthService(appliance: appliance).changePassword(identity, current: DemoData.superAdminPassword,
                                                                   new: "no longer the demo one 5", origin: .init())
        let changed = try #require(try await appliance.database.pool.read { db in try appliance.staffStore.account(id: superAdmin.id, in: db) })
        #expect(!changed.mfaExempt)
        #expect(try await appliance.database.pool.read { db in try MFAPolicy.requires(changed, in: db) })
        #expect(try await DemoData.accountsWithDocumentedPasswords(appliance) == DemoData.staff.map(\.email))
    }
}
