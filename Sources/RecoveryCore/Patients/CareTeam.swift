import Foundation
import GRDB

/// Care-team assignments and named-staff grants for restricted patients.
/// Assignments end rather than disappear, so the history of who cared for a
/// patient is kept. Who they let in is `AccessPolicy`'s to decide.
public struct CareTeam: Sendable {
    public struct Member: Sendable, Equatable {
        public var assignmentID: String
        public var staffID: String
        public var firstName: String
        public var lastName: String
        public var staffRole: String
        public var role: String
        public var startsOn: String
        public var endsOn: String?
        /// When the assignment was ended (it closes at that moment).
        public var endedAt: String?
    }

    public enum Failure: Error, Equatable, Sendable {
        case invalid(field: String, issue: String)
        case notFound
    }

    public static let roles = ["primary_counselor", "counselor", "therapist", "nurse", "psychiatrist", "case_manager"]

    let appliance: Appliance
    var directory: PatientDirectory { PatientDirectory(appliance: appliance) }

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    public func members(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws -> [Member] {
        let granted = try await directory.authorize(identity, patientID, .patientsReadDemographics, action: "care_team.read", origin: origin)
        let members = try await appliance.database.read { db in try load(patientID, in: db) }
        try await appliance.auditWriter.record(directory.successEvent("care_team.read", identity, granted, origin))
        return members
    }

    func load(_ patientID: String, in db: Database) throws -> [Member] {
        try Row.fetchAll(db, sql: """
            SELECT a.id, a.staff_id, a.role, a.starts_on, a.ends_on, a.ended_at, s.first_name_enc, s.last_name_enc, s.role AS staff_role
            FROM care_team_assignments a JOIN staff s ON s.id = a.staff_id
            WHERE a.patient_id = ? ORDER BY a.ended_at IS NOT NULL, a.starts_on DESC
            """, arguments: [patientID]).map { row in
            let staffID: String = row["staff_id"]
            return Member(assignmentID: row["id"], staffID: staffID,
                          firstName: try appliance.cipher.openString(row["first_name_enc"], field: .staffFirstName, rowID: staffID),
                          lastName: try appliance.cipher.openString(row["last_name_enc"], field: .staffLastName, rowID: staffID),
                          staffRole: row["staff_role"], role: row["role"], startsOn: row["starts_on"], endsOn: row["ends_on"],
                          endedAt: row["ended_at"])
        }
    }

    /// Puts a staff member on the care team; `assignmentRole` is their role on
    /// this team (primary counselor, ...), not their staff role.
    public func assign(_ identity: Identity, patientID: String, staffID: String, role assignmentRole: String, startsOn: String?,
                       origin: RequestOrigin) async throws -> [Member] {
        // Decided first, in the write: a caller who may not reach the patient learns nothing from validation.
        try await directory.writeAuthorized(identity, patientID, .careTeamManage, action: "care_team.assign", origin: origin) { db, granted in
            guard Self.roles.contains(assignmentRole) else {
                throw Failure.invalid(field: "role", issue: "must be one of: " + Self.roles.joined(separator: ", "))
            }
            if let startsOn, !CalendarDate.isValid(startsOn) { throw Failure.invalid(field: "starts_on", issue: "must be a real date as YYYY-MM-DD") }
            guard let staff = try appliance.staffStore.account(id: staffID, in: db), staff.isActive, staff.facilityID == granted.facilityID,
                  AccessPolicy.mayJoinCareTeam(staff.role)
            else { throw Failure.invalid(field: "staff_id", issue: "must be an active clinical staff member of the patient's facility") }
            let today = String(Timestamp.now().prefix(10))
            let open = try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM care_team_assignments WHERE patient_id = ? AND staff_id = ? AND ended_at IS NULL)
                """, arguments: [patientID, staffID]) ?? false
            if open { throw Failure.invalid(field: "staff_id", issue: "is already on the care team") }
            if assignmentRole == "primary_counselor", try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM care_team_assignments WHERE patient_id = ? AND role = 'primary_counselor' AND ended_at IS NULL)
                """, arguments: [patientID]) == true {
                throw Failure.invalid(field: "role", issue: "the patient already has a primary counselor; end that assignment first")
            }
            try db.execute(sql: """
                INSERT INTO care_team_assignments (id, facility_id, patient_id, staff_id, role, starts_on, assigned_by)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [RowID.make(), granted.facilityID, patientID, staffID, assignmentRole, startsOn ?? today, identity.subjectID])
            try appliance.audit.append(directory.successEvent("care_team.assign", identity, granted, origin,
                                                            details: ["staff_id": staffID, "role": assignmentRole]), in: db)
            return try load(patientID, in: db)
        }
    }

    /// Ends an assignment now: access closes at once, and the assignment stays
    /// in the history with today as its last day. One that has not started
    /// yet is cancelled (its last day is its first, and it never opens).
    public func end(_ identity: Identity, patientID: String, assignmentID: String, origin: RequestOrigin) async throws {
        try await directory.writeAuthorized(identity, patientID, .careTeamManage, action: "care_team.end", origin: origin) { db, granted in
            let now = Timestamp.now()
            let today = String(now.prefix(10))
            let startsOn = try String.fetchOne(db, sql: """
                SELECT starts_on FROM care_team_assignments WHERE id = ? AND patient_id = ? AND facility_id = ? AND ended_at IS NULL
                """, arguments: [assignmentID, patientID, granted.facilityID])
            guard let startsOn else { throw Failure.notFound }
            try db.execute(sql: """
                UPDATE care_team_assignments SET ends_on = max(starts_on, ?), ended_at = ?, ended_by = ?, updated_at = ? WHERE id = ?
                """, arguments: [today, now, identity.subjectID, now, assignmentID])
            let cancelled = startsOn > today
            try appliance.audit.append(directory.successEvent(cancelled ? "care_team.cancel" : "care_team.end", identity, granted, origin,
                                                            details: ["assignment_id": assignmentID]), in: db)
        }
    }

    /// Names a staff member allowed to see a restricted patient.
    public func grantNamedAccess(_ identity: Identity, patientID: String, staffID: String, origin: RequestOrigin) async throws {
        try await directory.writeAuthorized(identity, patientID, .patientsRestrict, action: "patient.access_grant", origin: origin) { db, granted in
            guard let staff = try appliance.staffStore.account(id: staffID, in: db), staff.isActive, staff.facilityID == granted.facilityID else {
                throw Failure.invalid(field: "staff_id", issue: "must be an active staff member of the patient's facility")
            }
            let exists = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM patient_access_grants WHERE patient_id = ? AND staff_id = ? AND revoked_at IS NULL)",
                                           arguments: [patientID, staffID]) ?? false
            if !exists {
                try db.execute(sql: "INSERT INTO patient_access_grants (id, facility_id, patient_id, staff_id, granted_by) VALUES (?, ?, ?, ?, ?)",
                               arguments: [RowID.make(), granted.facilityID, patientID, staffID, identity.subjectID])
            }
            try appliance.audit.append(directory.successEvent("patient.access_grant", identity, granted, origin, details: ["staff_id": staffID]), in: db)
        }
    }

    public func revokeNamedAccess(_ identity: Identity, patientID: String, staffID: String, origin: RequestOrigin) async throws {
        try await directory.writeAuthorized(identity, patientID, .patientsRestrict, action: "patient.access_revoke", origin: origin) { db, granted in
            try db.execute(sql: "UPDATE patient_access_grants SET revoked_at = ?, revoked_by = ? WHERE patient_id = ? AND staff_id = ? AND revoked_at IS NULL",
                           arguments: [Timestamp.now(), identity.subjectID, patientID, staffID])
            guard db.changesCount > 0 else { throw Failure.notFound }
            try appliance.audit.append(directory.successEvent("patient.access_revoke", identity, granted, origin, details: ["staff_id": staffID]), in: db)
        }
    }
}
