/// Why a request about recovery records cannot be carried out.
public enum RecordFailure: Error, Equatable, Sendable {
    /// Fields that are missing or wrong (HTTP 422).
    case invalid([RecordProblem])
    /// No such record for this patient (HTTP 404).
    case notFound(String)
    /// The id or code is already in use (HTTP 409).
    case conflict(RecordProblem)
}
