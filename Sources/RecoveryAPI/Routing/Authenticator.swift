import HTTPTypes
import Hummingbird
import RecoveryCore

/// Resolves the bearer token of a request to an identity and applies the
/// endpoint's access rule: no or bad token 401, wrong kind or role 403.
struct Authenticator: Sendable {
    let auth: AuthService

    func identity(for request: Request, access: Access) async throws -> Identity? {
        if access == .public { return nil }
        guard let header = request.headers[.authorization], header.count > 7,
              header.prefix(7).lowercased() == "bearer " else { throw APIError.unauthenticated }
        guard let identity = await auth.authenticate(bearer: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) else {
            throw APIError.unauthenticated
        }
        guard access.permits(identity) else { throw APIError.forbidden }
        return identity
    }
}

extension APIError {
    static var unauthenticated: APIError {
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = "Bearer"
        return APIError(.unauthorized, code: "unauthenticated",
                        message: "Sign in first: send a valid access token as 'Authorization: Bearer <token>'.", headers: headers)
    }

    static let forbidden = APIError(.forbidden, code: "forbidden", message: "Your account is not allowed to do this.")
}
