/// Why a federation operation was refused. Messages and codes never carry a
/// payload's content.
public enum FederationError: Error, Equatable, Sendable {
    /// The route belongs to the other kind of box (`mode: clinic|central`).
    case wrongMode(expected: String)
    case invalid(field: String, issue: String)
    /// Wrong, expired or already used enrolment code (all answer alike).
    case invalidEnrollmentCode
    case peerNotFound
    /// This clinic is not enrolled with a central instance.
    case notEnrolled
    case alreadyEnrolled
    /// Plain http:// to an address other than loopback without the setting that allows it.
    case plainHTTPRefused
    // Refusals of a received payload; nothing is stored for any of them.
    case unknownClinic
    case clinicRevoked
    case badSignature
    case sequenceReused
    case unknownSchemaVersion(Int)
    /// An approval named a digest that no payload awaiting approval has (it changed since the preview).
    case approvalStale(field: String)
    /// `federation.require_approval` is off: payloads leave without approval.
    case approvalNotRequired
    /// `federation.noise_budget` is below one draw of `federation.noise_epsilon`: no count could be sent noisy.
    case noiseBudgetBelowOneDraw
    /// Central's answer could not be used (e.g. a receipt not signed by the pinned key).
    case centralUnreachable(String)

    /// A short code for logs and the clinic's `last_error`.
    public var code: String {
        switch self {
        case .wrongMode: return "wrong_mode"
        case .invalid: return "invalid_payload"
        case .invalidEnrollmentCode: return "invalid_enrollment_code"
        case .peerNotFound: return "peer_not_found"
        case .notEnrolled: return "not_enrolled"
        case .alreadyEnrolled: return "already_enrolled"
        case .plainHTTPRefused: return "plain_http_refused"
        case .unknownClinic: return "unknown_clinic"
        case .clinicRevoked: return "clinic_revoked"
        case .badSignature: return "bad_signature"
        case .sequenceReused: return "sequence_reused"
        case .unknownSchemaVersion: return "unknown_schema_version"
        case .approvalStale: return "approval_stale"
        case .approvalNotRequired: return "approval_not_required"
        case .noiseBudgetBelowOneDraw: return "noise_budget_below_one_draw"
        case .centralUnreachable(let reason): return reason
        }
    }
}
