/// Why an authentication request was refused. The API maps each to one
/// status and code; wrong password and unknown account are one case.
public enum AuthError: Error, Equatable, Sendable {
    case invalidCredentials
    /// The email and password fit patients of more than one facility.
    case ambiguousEmail
    /// A signed-in caller's password check failed (it names the field).
    case wrongPassword(field: String)
    case invalidRegistrationKey
    case invalidRefreshToken
    case throttled(retryAfterSeconds: Int)
    case invalid(field: String, issue: String)
    case emailInUse
    case alreadyRegistered
    case sessionNotFound
    case mfaInvalid
    case mfaAlreadyEnabled
    case mfaNotStarted
}
