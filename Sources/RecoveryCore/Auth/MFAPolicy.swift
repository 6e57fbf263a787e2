import GRDB

/// Who must use a second factor. A facility's `mfa_policy` is `none`,
/// `admins` (facility administrators) or `all_staff`. Super admins, who span
/// every facility, always must. Demo accounts (`mfa_exempt`, set only by
/// `seed --demo`) need not, until their password is changed. Patients are
/// never required to.
enum MFAPolicy {
    static func requires(_ account: StaffAccount, in db: Database) throws -> Bool {
        if account.mfaExempt { return false }
        guard let facilityID = account.facilityID else { return true }
        let policy = try String.fetchOne(db, sql: "SELECT mfa_policy FROM facilities WHERE id = ?", arguments: [facilityID]) ?? "none"
        switch policy {
        case "all_staff": return true
        case "admins": return AccessPolicy.administers(account.role)
        default: return false
        }
    }
}
