/// Reach by facility, as SQL on a row's facility column: a box-wide account
/// reaches every row; a facility's staff (or patient) the rows of their
/// facility. Staff accounts, facilities and emergency-access grants use it;
/// a box-wide account's own row has no facility, so facility staff never
/// reach it.
enum FacilityReach {
    static func rules(for principal: Principal, column: String) -> AccessRules {
        let ground: AccessGround
        switch principal {
        case .staff(_, _, let facilityID?): ground = AccessGround("facility", "\(column) = ?", [facilityID])
        case .staff(_, _, nil): ground = AccessGround("facility", "1")
        case .patient(_, let facilityID): ground = AccessGround("own", "\(column) = ?", [facilityID])
        case .clinic: ground = AccessGround("none", "0")
        }
        return AccessRules(rules: [AccessRule(name: .facility, refusal: .notFound, grounds: [ground])])
    }
}
