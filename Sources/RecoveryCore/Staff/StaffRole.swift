/// Staff roles. `superAdmin` spans every facility on the box; all others
/// belong to exactly one facility.
public enum StaffRole: String, Codable, Sendable, CaseIterable {
    case superAdmin = "super_admin"
    case admin
    case counselor
    case therapist
    case nurse
    case staff
}
