import GRDB

/// Who must use a second factor. A facility's `mfa_policy` is `none`,
/// `admins` (facility administrators) or `all_staff`. Super admins, who span
/// every facility, must use one unless the box setting
/// `super_admin_mfa_required` is false (only the demo data set turns it off).
/// Patients are never required to.
enum MFAPolicy {
    static let superAdminSetting = "super_admin_mfa_required"

    static func requires(_ account: StaffAccount, in db: Database) throws -> Bool {
        guard let facilityID = account.facilityID else {
            return try BoxSetting.get(superAdminSetting, in: db) != "false"
        }
        let policy = try String.fetchOne(db, sql: "SELECT mfa_policy FROM facilities WHERE id = ?", arguments: [facilityID]) ?? "none"
        switch policy {
        case "all_staff": return true
        case "admins": return AccessPolicy.administers(account.role)
        default: return false
        }
    }
}
