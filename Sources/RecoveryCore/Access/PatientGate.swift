import Foundation
import GRDB

/// The one door to a patient's records for staff. It checks, in order: the
/// role's permission, that the patient is in the caller's facility (else
/// 404, as if it did not exist), restriction (named staff only, besides the
/// administrators who manage the restriction), and the
/// care team for roles whose reach is their caseload. Emergency access
/// ("break the glass") opens the last two for a limited time. Every refusal
/// is audited by the caller with the reason.
public struct PatientGate: Sendable {
    public struct Granted: Sendable, Equatable {
        public var patientID: String
        public var facilityID: String
        /// facility, care_team, named, emergency
        public var basis: String
    }

    public init() {}

    public func authorize(_ identity: Identity, patientID: String, for permission: Permission,
                          includeDeleted: Bool = false, in db: Database) throws -> Granted {
        guard identity.kind == .staff, let role = identity.role else { throw AccessError.patientsOnly }
        guard RolePermissions.allows(role, permission) else { throw AccessError.forbidden(permission) }
        let scope = FacilityScope(identity)
        let (facilitySQL, facilityArguments) = scope.sql()
        guard let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT facility_id, is_restricted, deleted_at FROM patients WHERE id = ? AND \(facilitySQL)
            """), arguments: [patientID] + facilityArguments),
              includeDeleted || (row["deleted_at"] as String?) == nil
        else { throw AccessError.notFound }
        let facilityID: String = row["facility_id"]
        let now = Timestamp.now()
        let today = String(now.prefix(10))
        let emergency = try Bool.fetchOne(db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM emergency_access_grants WHERE patient_id = ? AND staff_id = ? AND expires_at > ?)
            """), arguments: [patientID, identity.subjectID, now]) ?? false
        if row["is_restricted"] as Bool, role != .superAdmin, role != .admin {
            let named = try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM patient_access_grants WHERE patient_id = ? AND staff_id = ? AND revoked_at IS NULL)
                """, arguments: [patientID, identity.subjectID]) ?? false
            if named { return Granted(patientID: patientID, facilityID: facilityID, basis: "named") }
            if emergency { return Granted(patientID: patientID, facilityID: facilityID, basis: "emergency") }
            throw AccessError.restricted
        }
        switch RolePermissions.reach(role) {
        case .facility:
            return Granted(patientID: patientID, facilityID: facilityID, basis: "facility")
        case .careTeam:
            if try Self.onCareTeam(identity.subjectID, patientID: patientID, today: today, in: db) {
                return Granted(patientID: patientID, facilityID: facilityID, basis: "care_team")
            }
            if emergency { return Granted(patientID: patientID, facilityID: facilityID, basis: "emergency") }
            throw AccessError.notOnCareTeam
        }
    }

    static func onCareTeam(_ staffID: String, patientID: String, today: String, in db: Database) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM care_team_assignments
                           WHERE patient_id = ? AND staff_id = ? AND starts_on <= ? AND (ends_on IS NULL OR ends_on >= ?))
            """), arguments: [patientID, staffID, today, today]) ?? false
    }

    /// The condition (on patients aliased `p`) selecting the patients a list
    /// may show to `identity`: its facility, not restricted unless named,
    /// and for caseload roles only its current care team.
    /// True when `listCondition` for `role` is the facility scope alone (no
    /// restriction or care-team clause), so every live patient in scope is listed.
    public static func listsWholeScope(_ role: StaffRole) -> Bool {
        seesRestricted(role) && RolePermissions.reach(role) != .careTeam
    }

    /// Admins see restricted patients in lists; others only those they were granted.
    static func seesRestricted(_ role: StaffRole) -> Bool { role == .superAdmin || role == .admin }

    public func listCondition(_ identity: Identity) throws -> (String, StatementArguments) {
        guard identity.kind == .staff, let role = identity.role else { throw AccessError.patientsOnly }
        let (facilitySQL, facilityArguments) = FacilityScope(identity).sql("p")
        var sql = facilitySQL
        var arguments = facilityArguments
        let today = String(Timestamp.now().prefix(10))
        if !Self.seesRestricted(role) {
            sql += """
                 AND (p.is_restricted = 0 OR EXISTS (SELECT 1 FROM patient_access_grants g
                      WHERE g.patient_id = p.id AND g.staff_id = ? AND g.revoked_at IS NULL))
                """
            arguments += [identity.subjectID]
        }
        if RolePermissions.reach(role) == .careTeam {
            sql += """
                 AND EXISTS (SELECT 1 FROM care_team_assignments t WHERE t.patient_id = p.id AND t.staff_id = ?
                             AND t.starts_on <= ? AND (t.ends_on IS NULL OR t.ends_on >= ?))
                """
            arguments += [identity.subjectID, today, today]
        }
        return (sql, arguments)
    }
}
