/// Why a staff member may not touch a patient record. `notFound` is also the
/// answer for another facility's patient: its existence is not revealed.
public enum AccessError: Error, Equatable, Sendable {
    case notFound
    case forbidden(Permission)
    case notOnCareTeam
    case restricted
    case patientsOnly
}
