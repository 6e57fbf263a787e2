import GRDB

/// The one access policy: who may do what to which record. Every decision in
/// the appliance comes from here: the role's permissions (`RolePermissions`)
/// and the reach rules of each kind of resource (`PatientRules` for patients,
/// `FacilityReach` for facilities, staff accounts and emergency grants), each
/// declared once and used both to decide for one record and, as SQL, to select a list.
///
/// Refusals are `AccessError`s: `notFound` (404) where the caller may not
/// learn that the record exists, the others 403. Callers audit every refusal.
public enum AccessPolicy {
    // MARK: Permissions

    /// Whether the principal's role carries `permission`. Patients and
    /// federated clinics carry none: they reach only their own records.
    public static func permits(_ identity: Identity, _ permission: Permission) -> Bool {
        permits(Principal(identity), permission)
    }

    static func permits(_ principal: Principal, _ permission: Permission) -> Bool {
        guard case .staff(_, let role, _) = principal else { return false }
        return RolePermissions.allows(role, permission)
    }

    /// Every permission the identity's role carries, in declaration order
    /// (none for a patient): what a client may offer; each route still decides.
    public static func permissions(of identity: Identity) -> [Permission] {
        Permission.allCases.filter { permits(identity, $0) }
    }

    /// Throws the refusal when the identity lacks `permission`.
    public static func require(_ identity: Identity, _ permission: Permission) throws {
        guard identity.kind == .staff else { throw AccessError.patientsOnly }
        guard permits(identity, permission) else { throw AccessError.forbidden(permission) }
    }

    // MARK: Patients

    /// Decides whether `identity` may use `permission` on one patient, in one
    /// statement that evaluates every rule's grounds on the patient's row.
    public static func patient(_ identity: Identity, _ patientID: String, for permission: Permission,
                               includeDeleted: Bool = false, in db: Database) throws -> PatientAccess {
        try require(identity, permission)
        let rules = PatientRules.rules(for: Principal(identity), permission, includeDeleted: includeDeleted, at: Timestamp.now())
        let (row, grounds) = try rules.decide("patients", alias: "p", id: patientID, extra: ["p.facility_id"], in: db)
        return PatientAccess(patientID: patientID, facilityID: row[0], basis: PatientRules.basis(grounds))
    }

    /// The patients `identity` may list with `permission`: the same rules as
    /// `patient(...)`, as a condition on `patients p`.
    public static func patientList(_ identity: Identity, for permission: Permission) throws -> PatientListScope {
        try require(identity, permission)
        let rules = PatientRules.rules(for: Principal(identity), permission, at: Timestamp.now())
        let (sql, arguments) = rules.condition
        return PatientListScope(sql: sql, arguments: arguments, wholeFacilities: rules.consists(of: [.facility, .live]),
                                facilities: FacilityScope(identity))
    }

    /// The signed-in patient's own records (the app's routes and sync).
    public static func ownRecords(_ identity: Identity) throws -> OwnRecords {
        guard case .patient(let id, let facilityID) = Principal(identity) else { throw AccessError.staffOnly }
        return OwnRecords(id: id, facilityID: facilityID)
    }

    /// A condition on patients `p`: the staff member is on the patient's care
    /// team now (the list filter `counselor_id`), the care-team rule's own ground.
    public static func careTeamCondition(of staffID: String) -> (sql: String, arguments: StatementArguments) {
        let ground = PatientRules.onCareTeam(staffID, at: Timestamp.now())
        return (ground.sql, ground.arguments)
    }

    /// Staff roles that can be put on a patient's care team: those whose
    /// patient reach is a caseload, and facility administrators.
    public static func mayJoinCareTeam(_ role: StaffRole) -> Bool {
        RolePermissions.reach(role) == .careTeam || (RolePermissions.allows(role, .careTeamManage) && !boxWide(role))
    }

    // MARK: Facilities

    /// Decides whether `identity` may use `permission` on a facility (a
    /// patient: read its own facility's catalogue). Unknown and out-of-reach
    /// facilities are both 404.
    public static func facility(_ identity: Identity, _ facilityID: String, for permission: Permission?, in db: Database) throws {
        if let permission { try require(identity, permission) }
        else if identity.kind == .staff { try require(identity, .facilityRead) }
        _ = try FacilityReach.rules(for: Principal(identity), column: "f.id").decide("facilities", alias: "f", id: facilityID, extra: [], in: db)
    }

    /// The facilities `identity` may list (`facilities.manage_all`), as a condition on `facilities f`.
    public static func facilityList(_ identity: Identity) throws -> (sql: String, arguments: StatementArguments) {
        try require(identity, .facilitiesManageAll)
        return FacilityReach.rules(for: Principal(identity), column: "f.id").condition
    }

    /// The facility a new record of `identity` belongs to: its own (naming
    /// another is refused), or for a box-wide account the one it names,
    /// which must exist. nil: a box-wide account named none.
    public static func facilityForNewRecord(_ identity: Identity, requested: String?, in db: Database) throws -> String? {
        if let own = identity.facilityID {
            if let requested, requested.lowercased() != own { throw AccessError.otherFacility }
            return own
        }
        guard let requested else { return nil }
        let id = requested.lowercased()
        _ = try FacilityReach.rules(for: Principal(identity), column: "f.id").decide("facilities", alias: "f", id: id, extra: [], in: db)
        return id
    }

    // MARK: Staff accounts

    /// Decides whether `identity` may use `permission` on a staff account;
    /// returns the account's facility (nil: a box-wide account).
    public static func staffAccount(_ identity: Identity, _ staffID: String, for permission: Permission, in db: Database) throws -> String? {
        try require(identity, permission)
        let (row, _) = try FacilityReach.rules(for: Principal(identity), column: "s.facility_id").decide("staff", alias: "s", id: staffID, extra: ["s.facility_id"], in: db)
        return row[0]
    }

    /// The staff accounts `identity` may list, as a condition on `staff s`.
    public static func staffList(_ identity: Identity) throws -> (sql: String, arguments: StatementArguments) {
        try require(identity, .staffRead)
        return FacilityReach.rules(for: Principal(identity), column: "s.facility_id").condition
    }

    /// Decides whether `identity` may use `permission` on an emergency-access
    /// grant (review it, end it).
    public static func emergencyGrant(_ identity: Identity, _ grantID: String, for permission: Permission, in db: Database) throws -> EmergencyGrantAccess {
        try require(identity, permission)
        let (row, _) = try FacilityReach.rules(for: Principal(identity), column: "e.facility_id")
            .decide("emergency_access_grants", alias: "e", id: grantID, extra: ["e.facility_id", "e.patient_id", "e.staff_id"], in: db)
        return EmergencyGrantAccess(grantID: grantID, facilityID: row[0], patientID: row[1], staffID: row[2])
    }

    /// The emergency-access grants `identity` may list, as a condition on `emergency_access_grants e`.
    public static func emergencyGrantList(_ identity: Identity) throws -> (sql: String, arguments: StatementArguments) {
        try require(identity, .emergencyAccessReview)
        return FacilityReach.rules(for: Principal(identity), column: "e.facility_id").condition
    }

    /// Whether `identity` may give an account `role`: a box-wide role only by
    /// a box-wide account.
    public static func mayAssign(_ role: StaffRole, by identity: Identity) -> Bool {
        !boxWide(role) || permits(identity, .facilitiesManageAll)
    }

    /// A role that spans every facility of the box and belongs to none.
    public static func boxWide(_ role: StaffRole) -> Bool {
        RolePermissions.allows(role, .facilitiesManageAll)
    }

    /// Roles whose accounts the facility's MFA policy "admins" covers.
    public static func administers(_ role: StaffRole) -> Bool {
        RolePermissions.allows(role, .staffManage)
    }
}

/// A decided patient access: the patient's facility and the ground it rests on.
public struct PatientAccess: Sendable, Equatable {
    public var patientID: String
    public var facilityID: String
    /// facility, care_team, named, emergency (recorded in the audit entry)
    public var basis: String
}

/// The patients a list may show, as a condition on `patients p`.
public struct PatientListScope: Sendable {
    public let sql: String
    public let arguments: StatementArguments
    /// True when the condition is the facility scope and liveness alone, so
    /// every live patient of `facilities` is listed (a kept count serves).
    public let wholeFacilities: Bool
    public let facilities: FacilityScope
}

/// A decided access to an emergency-access grant.
public struct EmergencyGrantAccess: Sendable, Equatable {
    public var grantID: String
    public var facilityID: String
    public var patientID: String
    /// The clinician the grant opened the patient to.
    public var staffID: String
}

/// The signed-in patient whose own records a route or a sync reads and writes.
/// Made only by `AccessPolicy.ownRecords` from a patient's identity.
public struct OwnRecords: Sendable, Equatable {
    public let id: String
    public let facilityID: String
}
