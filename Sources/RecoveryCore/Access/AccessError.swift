/// Why the access policy refuses. `notFound` (404) is also the answer for
/// another facility's record: its existence is not revealed. The others are
/// 403: the caller may know the record exists, or the refusal does not
/// depend on any record.
public enum AccessError: Error, Equatable, Sendable {
    case notFound
    case forbidden(Permission)
    case notOnCareTeam
    case restricted
    /// A patient's token on a staff route.
    case patientsOnly
    /// A staff token on a patient's own route.
    case staffOnly
    /// A facility's staff naming another facility for a new record.
    case otherFacility

    /// The reason written in the audit entry of the refusal.
    public var auditReason: String {
        switch self {
        case .notFound: return "not_found_in_scope"
        case .forbidden: return "permission"
        case .notOnCareTeam: return "not_on_care_team"
        case .restricted: return "restricted"
        case .patientsOnly: return "patient_token"
        case .staffOnly: return "staff_token"
        case .otherFacility: return "other_facility"
        }
    }
}
