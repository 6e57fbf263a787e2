import Foundation
import GRDB

/// The sample data set of `seed --demo` and `serve --demo`: the seed
/// design's super admin with its documented password, a sample facility,
/// its staff and a handful of fictional patients. For trying the API only:
/// it goes only on a box holding nothing but what `init` made. Its accounts
/// may sign in without a second factor (`staff.mfa_exempt`) until their
/// password is changed; the box's policy itself is never weakened.
public enum DemoData {
    public static let superAdminEmail = "admin@recoversystem.com"
    /// Documented in the original design and README.md; `serve` warns while it is in use.
    public static let superAdminPassword = "SuperAdmin123!"
    /// The password of every other demo staff account (README.md lists them).
    public static let staffPassword = "SerenityDemo2026!"
    public static let facilityName = "Serenity Recovery Center"
    /// The demo counselor, primary counselor of every demo patient.
    static let counselorEmail = "counselor@serenity.example"

    public static let staff: [(role: StaffRole, email: String, first: String, last: String)] = [
        (.admin, "director@serenity.example", "Dana", "Whitfield"),
        (.counselor, counselorEmail, "Marcus", "Bell"),
        (.therapist, "therapist@serenity.example", "Priya", "Raman"),
        (.nurse, "nurse@serenity.example", "Luis", "Ortega"),
        (.staff, "frontdesk@serenity.example", "Amy", "Chen"),
    ]

    public static let patients: [(first: String, last: String, dob: String, care: String, status: String, daysIn: Int, daysSober: Int?)] = [
        ("John", "Doe", "1985-03-15", "residential", "active", 21, 24),
        ("Maria", "Gonzalez", "1992-07-02", "iop", "active", 60, 75),
        ("Tyrone", "Jackson", "1979-11-30", "php", "active", 35, 35),
        ("Emily", "Nguyen", "2001-01-19", "detox", "pending_registration", 2, 3),
        ("Robert", "Smith", "1968-05-08", "outpatient", "active", 140, 180),
    ]

    public enum Outcome: Sendable, Equatable {
        case seeded(String)
        case alreadySeeded
    }

    /// The box holds records of its own: nothing was written.
    public struct Refused: Error, Equatable, CustomStringConvertible {
        public var found: [String]
        public var description: String {
            "this box holds records besides what init created (\(found.joined(separator: ", "))); "
                + "the demo data set, with its public passwords, goes only on a new box. Nothing was written."
        }
    }

    /// Every demo account with its documented password.
    public static var accounts: [(email: String, password: String)] {
        [(superAdminEmail, superAdminPassword)] + staff.map { ($0.email, staffPassword) }
    }

    /// What the box holds beyond `init`'s one facility and one administrator.
    static func recordsBeyondInit(in db: Database) throws -> [String] {
        var found: [String] = []
        let facilities = try Table("facilities").fetchCount(db)
        let staff = try Table("staff").fetchCount(db)
        let patients = try Table("patients").fetchCount(db)
        if facilities > 1 { found.append("\(facilities) facilities") }
        if staff > 1 { found.append("\(staff) staff accounts") }
        if patients > 0 { found.append("\(patients) patients") }
        return found
    }

    public static func seed(_ appliance: Appliance) async throws -> Outcome {
        let staffStore = StaffStore(cipher: appliance.cipher, blindIndex: appliance.blindIndex)
        let patientStore = PatientStore(cipher: appliance.cipher, blindIndex: appliance.blindIndex)
        if try await appliance.database.read({ db in try staffStore.account(email: superAdminEmail, in: db) != nil }) {
            return .alreadySeeded
        }
        let superHash = try await appliance.passwords.hash(superAdminPassword)
        let staffHash = try await appliance.passwords.hash(staffPassword)
        // The demo is for trying the API with the documented curl commands, so
        // it asks for no second factor; real facilities default to admins.
        let facility = Facility(name: facilityName, timezone: "America/New_York", capacity: 40, mfaPolicy: "none")
        let today = Date()
        @Sendable func day(_ offset: Int) -> String {
            let date = today.addingTimeInterval(-Double(offset) * 86_400)
            return String(Timestamp.string(date).prefix(10))
        }
        try await appliance.database.pool.write { db in
            // Checked in the writing transaction, so nothing can slip in between.
            let found = try recordsBeyondInit(in: db)
            if !found.isEmpty { throw Refused(found: found) }
            try facility.insert(db)
            try FacilityDefaults.install(for: facility.id, in: db)
            try staffStore.insert(.init(facilityID: nil, role: .superAdmin, email: superAdminEmail,
                                        firstName: "Super", lastName: "Admin", passwordHash: superHash), in: db)
            var ids: [String: String] = [:]
            for member in staff {
                ids[member.email] = try staffStore.insert(.init(facilityID: facility.id, role: member.role, email: member.email,
                                                                firstName: member.first, lastName: member.last, passwordHash: staffHash), in: db)
            }
            let counselorID = ids[Self.counselorEmail]!
            // The documented curl examples sign in with a password alone.
            let demoEmails = accounts.map { appliance.blindIndex.index($0.email, for: .staffEmail) }
            try Table("staff").filter(demoEmails.contains(Column("email_bidx"))).updateAll(db, Column("mfa_exempt").set(to: true))
            for patient in patients {
                let (id, _) = try patientStore.insert(.init(
                    facilityID: facility.id, firstName: patient.first, lastName: patient.last, dateOfBirth: patient.dob,
                    program: "Adult SUD", levelOfCare: patient.care, status: patient.status,
                    admissionDate: day(patient.daysIn), sobrietyDate: patient.daysSober.map(day)), in: db)
                try db.execute(sql: """
                    INSERT INTO care_team_assignments (id, facility_id, patient_id, staff_id, role, starts_on)
                    VALUES (?, ?, ?, ?, 'primary_counselor', ?)
                    """, arguments: [RowID.make(), facility.id, id, counselorID, day(patient.daysIn)])
            }
        }
        return .seeded("facility \"\(facilityName)\", 1 super admin, \(staff.count) staff, \(patients.count) patients")
    }

    /// The demo accounts that exist, are active and still have their documented password.
    public static func accountsWithDocumentedPasswords(_ appliance: Appliance) async throws -> [String] {
        var found: [String] = []
        for (email, password) in accounts {
            guard let account = try await appliance.database.read({ db in try appliance.staffStore.account(email: email, in: db) }),
                  account.isActive else { continue }
            if try await appliance.passwords.verify(password, against: account.passwordHash) { found.append(email) }
        }
        return found
    }
}
