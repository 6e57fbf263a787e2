import Foundation
import GRDB
import Testing
@testable import RecoveryCore

/// The policy decides one record with the same grounds a list filters on:
/// for every principal and every patient of a box with restrictions, named
/// grants, care teams past, present, future and ended, and emergency access
/// open, expired and ended, the decision allows exactly the patients the
/// list shows.
@Suite struct AccessPolicyTests {
    struct Box {
        var database: AppDatabase
        var staff: [(id: String, role: StaffRole, facility: String?)]
        var patients: [String]
    }

    static func box(seed: UInt64) throws -> (Box, TemporaryDirectory) {
        let dir = TemporaryDirectory()
        let database = try AppDatabase(path: dir.file("test.sqlite"))
        try database.migrate()
        var random = SeededRandom(seed: seed)
        let now = Date()
        func stamp(_ minutes: Double) -> String { Timestamp.string(now.addingTimeInterval(minutes * 60)) }
        func day(_ days: Double) -> String { String(stamp(days * 1_440).prefix(10)) }
        var staff: [(String, StaffRole, String?)] = []
        var patients: [String] = []
        try database.pool.write { db in
            for facility in ["fa", "fb"] { try db.execute(sql: "INSERT INTO facilities (id, name) VALUES (?, ?)", arguments: [facility, facility]) }
            for (index, role) in (StaffRole.allCases + StaffRole.allCases.filter { $0 != .superAdmin }).enumerated() {
                let facility: String? = role == .superAdmin ? nil : (index < StaffRole.allCases.count ? "fa" : "fb")
                let id = "s\(index)"
                try db.execute(sql: """
                    INSERT INTO staff (id, facility_id, role, email_enc, email_bidx, first_name_enc, last_name_enc, password_hash)
                    VALUES (?, ?, ?, x'00', ?, x'00', x'00', '$argon2id$x')
                    """, arguments: [id, facility, role.rawValue, Data(id.utf8)])
                staff.append((id, role, facility))
            }
            for index in 0..<40 {
                let id = "p\(index)", facility = index % 3 == 0 ? "fb" : "fa"
                try db.execute(sql: """
                    INSERT INTO patients (id, facility_id, patient_number, first_name_enc, first_name_bidx, last_name_enc, last_name_bidx,
                                          date_of_birth_enc, is_restricted, deleted_at)
                    VALUES (?, ?, ?, x'00', x'00', x'00', x'00', x'00', ?, ?)
                    """, arguments: [id, facility, "P-\(index)", random.next(4) == 0, random.next(8) == 0 ? stamp(-60) : nil])
                patients.append(id)
                for (staffID, _, staffFacility) in staff where staffFacility == facility {
                    switch random.next(12) {
                    case 0, 1:   // on the care team now
                        try db.execute(sql: "INSERT INTO care_team_assignments (id, facility_id, patient_id, staff_id, role, starts_on) VALUES (?, ?, ?, ?, 'counselor', ?)",
                                       arguments: [UUID().uuidString, facility, id, staffID, day(-3)])
                    case 2:      // starts tomorrow
                        try db.execute(sql: "INSERT INTO care_team_assignments (id, facility_id, patient_id, staff_id, role, starts_on) VALUES (?, ?, ?, ?, 'counselor', ?)",
                                       arguments: [UUID().uuidString, facility, id, staffID, day(1)])
                    case 3:      // ended a minute ago, today still its last day
                        try db.execute(sql: "INSERT INTO care_team_assignments (id, facility_id, patient_id, staff_id, role, starts_on, ends_on, ended_at) VALUES (?, ?, ?, ?, 'counselor', ?, ?, ?)",
                                       arguments: [UUID().uuidString, facility, id, staffID, day(-3), day(0), stamp(-1)])
                    case 4:      // named on the patient
                        try db.execute(sql: "INSERT INTO patient_access_grants (id, facility_id, patient_id, staff_id, granted_by) VALUES (?, ?, ?, ?, ?)",
                                       arguments: [UUID().uuidString, facility, id, staffID, staffID])
                    case 5, 6:   // emergency access: open, expired or ended
                        let kind = random.next(3)
                        try db.execute(sql: """
                            INSERT INTO emergency_access_grants (id, facility_id, patient_id, staff_id, reason_enc, granted_at, expires_at, ended_at)
                            VALUES (?, ?, ?, ?, x'00', ?, ?, ?)
                            """, arguments: [UUID().uuidString, facility, id, staffID, stamp(-70), kind == 1 ? stamp(-10) : stamp(50), kind == 2 ? stamp(-5) : nil])
                    default: break
                    }
                }
            }
        }
        return (Box(database: database, staff: staff, patients: patients), dir)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func theDecisionForOneRecordAllowsExactlyThePatientsTheListShows(seed: UInt64) throws {
        let (box, dir) = try Self.box(seed: seed)
        _ = dir
        var compared = 0, allowed = 0
        let identities = box.staff.map { Identity(kind: .staff, subjectID: $0.id, role: $0.role, facilityID: $0.facility, sessionID: "s") }
            + [Identity(kind: .patient, subjectID: "p1", role: nil, facilityID: "fa", sessionID: "s")]
        for identity in identities {
            for permission in [Permission.patientsReadDemographics, .patientsReadClinical, .carePlanManage] {
                guard identity.kind == .patient || AccessPolicy.permits(identity, permission) else {
                    #expect(throws: AccessError.forbidden(permission)) { try box.database.pool.read { db in try AccessPolicy.patient(identity, "p1", for: permission, in: db) } }
                    continue
                }
                let listed: Set<String> = identity.kind == .patient ? [] : try box.database.pool.read { db in
                    let scope = try AccessPolicy.patientList(identity, for: permission)
                    return Set(try String.fetchAll(db, sql: "SELECT p.id FROM patients p WHERE \(scope.sql)", arguments: scope.arguments))
                }
                for patient in box.patients {
                    let decided = try box.database.pool.read { db -> Bool in
                        do { _ = try AccessPolicy.patient(identity, patient, for: permission, in: db); return true } catch is AccessError { return false }
                    }
                    if identity.kind == .staff { #expect(decided == listed.contains(patient), "\(identity.role!) \(identity.subjectID) on \(patient) for \(permission)") }
                    compared += 1
                    if decided { allowed += 1 }
                }
            }
        }
        #expect(compared > 1_000 && allowed > 100 && allowed < compared / 2, "a varied box: \(allowed) of \(compared) allowed")
    }

    @Test func eachRuleRefusesWithItsOwnReason() throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase(path: dir.file("test.sqlite"))
        try database.migrate()
        try database.pool.write { db in
            for facility in ["fa", "fb"] { try db.execute(sql: "INSERT INTO facilities (id, name) VALUES (?, ?)", arguments: [facility, facility]) }
            for (id, role) in [("c", "counselor"), ("d", "staff")] {
                try db.execute(sql: """
                    INSERT INTO staff (id, facility_id, role, email_enc, email_bidx, first_name_enc, last_name_enc, password_hash)
                    VALUES (?, 'fa', ?, x'00', ?, x'00', x'00', '$argon2id$x')
                    """, arguments: [id, role, Data(id.utf8)])
            }
            for (id, facility, restricted) in [("open", "fa", false), ("restricted", "fa", true), ("elsewhere", "fb", false)] {
                try db.execute(sql: """
                    INSERT INTO patients (id, facility_id, patient_number, first_name_enc, first_name_bidx, last_name_enc, last_name_bidx, date_of_birth_enc, is_restricted)
                    VALUES (?, ?, ?, x'00', x'00', x'00', x'00', x'00', ?)
                    """, arguments: [id, facility, id, restricted])
            }
            // The counselor is named on the restricted patient but not on its care team.
            try db.execute(sql: "INSERT INTO patient_access_grants (id, facility_id, patient_id, staff_id, granted_by) VALUES ('g', 'fa', 'restricted', 'c', 'c')")
        }
        let counselor = Identity(kind: .staff, subjectID: "c", role: .counselor, facilityID: "fa", sessionID: "s")
        let desk = Identity(kind: .staff, subjectID: "d", role: .staff, facilityID: "fa", sessionID: "s")
        func decide(_ identity: Identity, _ patient: String, _ permission: Permission = .patientsReadDemographics) throws -> PatientAccess {
            try database.pool.read { db in try AccessPolicy.patient(identity, patient, for: permission, in: db) }
        }
        #expect(throws: AccessError.notFound) { try decide(counselor, "elsewhere") }
        #expect(throws: AccessError.notFound) { try decide(counselor, "nobody") }
        #expect(throws: AccessError.notOnCareTeam) { try decide(counselor, "open") }
        // A named grant lifts the restriction, not the care-team rule.
        #expect(throws: AccessError.notOnCareTeam) { try decide(counselor, "restricted") }
        #expect(throws: AccessError.restricted) { try decide(desk, "restricted") }
        #expect(throws: AccessError.forbidden(.patientsReadClinical)) { try decide(desk, "open", .patientsReadClinical) }
        #expect(try decide(desk, "open").basis == "facility")
        // Asking to break the glass reaches past both rules, inside the facility only.
        #expect(try decide(counselor, "restricted", .emergencyAccess).facilityID == "fa")
        #expect(throws: AccessError.notFound) { try decide(counselor, "elsewhere", .emergencyAccess) }
        try database.pool.write { db in
            try db.execute(sql: "INSERT INTO care_team_assignments (id, facility_id, patient_id, staff_id, role, starts_on) VALUES ('a', 'fa', 'restricted', 'c', 'counselor', '2020-01-01')")
        }
        #expect(try decide(counselor, "restricted").basis == "named")
        try database.pool.write { db in
            try db.execute(sql: "UPDATE care_team_assignments SET ended_at = ?, ends_on = ? WHERE id = 'a'", arguments: [Timestamp.now(), String(Timestamp.now().prefix(10))])
        }
        #expect(throws: AccessError.notOnCareTeam) { try decide(counselor, "restricted") }
    }
}

/// A small deterministic generator, so a failing seed can be run again.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next(_ bound: UInt64) -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state % bound
    }
}
