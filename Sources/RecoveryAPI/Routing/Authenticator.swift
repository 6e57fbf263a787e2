import HTTPTypes
import Hummingbird
import RecoveryCore

/// Resolves the bearer token of a request to an identity and applies the
/// endpoint's access rule: no or bad token 401, wrong kind or a role without
/// the route's permission 403 (the refusal audited before the answer), and
/// 403 `password_change_required` outside `passwordChangePaths` while the
/// account must replace an administrator-set password.
struct Authenticator: Sendable {
    let auth: AuthService
    let appliance: Appliance

    /// What a session may still do before an administrator-set password is changed.
    static let passwordChangePaths: Set<String> = ["/api/v1/auth/change-password", "/api/v1/auth/logout", "/api/v1/auth/me"]

    func identity(for request: Request, context: AppRequestContext, route: String, access: Access) async throws -> Identity? {
        if access == .public { return nil }
        guard let header = request.headers[.authorization], header.count > 7,
              header.prefix(7).lowercased() == "bearer " else { throw APIError.unauthenticated }
        guard let identity = await auth.authenticate(bearer: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)) else {
            throw APIError.unauthenticated
        }
        // An administrator-set password comes first, whatever the route, so the client always learns it.
        let mustChange = auth.mustChangePassword(identity) && !Self.passwordChangePaths.contains(route)
        if let reason = mustChange ? "password_change_required" : access.refusal(for: identity)?.auditReason {
            try await appliance.auditWriter.record(AuditEvent(
                action: "route.denied", outcome: .denied, actorKind: identity.auditActor, actorID: identity.subjectID,
                facilityID: identity.facilityID, resourceType: "route", resourceID: "\(request.method.rawValue) \(route)",
                ipAddress: context.origin(request).ipAddress, requestID: context.requestID,
                details: ["reason": reason, "permission": access.permission?.rawValue ?? "patient"]))
            throw mustChange ? APIError.passwordChangeRequired : APIError.forbidden
        }
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

    static let passwordChangeRequired = APIError(
        .forbidden, code: "password_change_required",
        message: "Your password was set by an administrator: choose your own first (POST /api/v1/auth/change-password).")
}
