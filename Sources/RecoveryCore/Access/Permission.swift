/// What a signed-in staff member may do. Every staff route declares one;
/// `RolePermissions.matrix` grants them to roles. Patients have none of
/// these: they reach only their own records through the patient routes.
public enum Permission: String, CaseIterable, Sendable {
    case facilitiesManageAll = "facilities.manage_all"     // list and create facilities
    case facilityRead = "facility.read"
    case facilityUpdate = "facility.update"
    case staffRead = "staff.read"
    case staffManage = "staff.manage"                      // create, edit, deactivate, unlock
    case patientsCreate = "patients.create"
    case patientsReadDemographics = "patients.read_demographics"
    case patientsReadClinical = "patients.read_clinical"   // dashboard and clinical data
    case patientsUpdate = "patients.update"
    case patientsDelete = "patients.delete"                // soft delete
    case patientsRestore = "patients.restore"
    case patientsRestrict = "patients.restrict"            // restricted flag and named staff
    case registrationKeysManage = "registration_keys.manage"
    case careTeamManage = "care_team.manage"
    case carePlanManage = "care_plan.manage"               // medications, goals, meeting verification, flags
    case emergencyAccess = "emergency_access.use"          // break the glass
    case emergencyAccessReview = "emergency_access.review" // list, review and end others' emergency access
    case auditRead = "audit.read"
    case messagesUse = "messages.use"                      // conversations with patients of their reach and with staff
    case messageTemplatesManage = "message_templates.manage"
    case announcementsManage = "announcements.manage"      // create, edit, retract
    case crisisRespond = "crisis.respond"                  // raise, list, acknowledge, resolve crisis alerts
    case applianceOperate = "appliance.operate"            // the box's backups and operations
    case assessmentsAdminister = "assessments.administer"  // record scored measures, assign them to the app
    case treatmentPlansWrite = "treatment_plans.write"     // create and edit plans, read templates
    case treatmentPlansSign = "treatment_plans.sign"       // sign a plan version as its clinician
    case treatmentPlanTemplatesManage = "treatment_plan_templates.manage"
    case consentsManage = "consents.manage"                // Part 2 consents, revocation, disclosures and their accounting
    case documentsManage = "documents.manage"              // upload and delete a patient's documents
    case federationManage = "federation.manage"            // a clinic's federation status, sync now, disclosure log
    case federationCentral = "federation.central"          // central: enrol and revoke clinics, read their metrics
    case facilityReports = "facility.reports"              // facility-wide figures: staff workload, weekly metrics
}

/// How far a role's patient permissions reach inside its facility.
public enum PatientReach: String, Sendable {
    /// Every patient of the facility (administrators, front desk for demographics).
    case facility
    /// Only patients on the staff member's current care team.
    case careTeam
}

/// The permission matrix, written once as data (README.md shows the same table).
public enum RolePermissions {
    public static let matrix: [StaffRole: Set<Permission>] = {
        let clinical: Set<Permission> = [.facilityRead, .staffRead, .patientsCreate, .patientsReadDemographics,
                                         .patientsReadClinical, .patientsUpdate, .registrationKeysManage, .carePlanManage, .emergencyAccess,
                                         .messagesUse, .crisisRespond, .assessmentsAdminister, .treatmentPlansWrite, .treatmentPlansSign,
                                         .consentsManage, .documentsManage]
        let admin = Set(Permission.allCases).subtracting([.facilitiesManageAll, .federationCentral])
        return [
            .superAdmin: Set(Permission.allCases),
            .admin: admin,
            .counselor: clinical,
            .therapist: clinical,
            .nurse: [.facilityRead, .staffRead, .patientsReadDemographics, .patientsReadClinical, .carePlanManage, .emergencyAccess,
                     .messagesUse, .crisisRespond, .assessmentsAdminister, .documentsManage],
            .staff: [.facilityRead, .staffRead, .patientsCreate, .patientsReadDemographics, .patientsUpdate, .registrationKeysManage,
                     .messagesUse, .consentsManage, .documentsManage],
        ]
    }()

    /// Which patients a role's patient permissions cover.
    public static func reach(_ role: StaffRole) -> PatientReach {
        switch role {
        case .superAdmin, .admin, .staff: return .facility
        case .counselor, .therapist, .nurse: return .careTeam
        }
    }

    public static func allows(_ role: StaffRole, _ permission: Permission) -> Bool {
        matrix[role]?.contains(permission) ?? false
    }
}
