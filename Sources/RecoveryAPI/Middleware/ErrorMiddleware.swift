import GRDB
import HTTPTypes
import Hummingbird
import Logging
import RecoveryCore

/// Turns every failure into the error envelope of DESIGN.md. Unknown routes
/// answer 404, a known path with another method 405 with `Allow`; anything
/// unexpected is logged (type only, never its text, which could hold PHI)
/// and answered as a 500 that reveals nothing.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let catalog: RouteCatalog

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try Self.render(translate(error, request: request, context: context), requestID: context.requestID)
        }
    }

    /// The response for an error: status, its headers, and the envelope body.
    static func render(_ apiError: APIError, requestID: String) throws -> Response {
        let envelope = ErrorEnvelope(
            error: .init(code: apiError.code, message: apiError.message, details: apiError.details),
            requestId: requestID)
        return try JSONBody.response(envelope, status: apiError.status, headers: apiError.headers)
    }

    func translate(_ error: any Error, request: Request, context: Context) -> APIError {
        if let apiError = error as? APIError { return apiError }
        if let authError = error as? AuthError { return APIError(authError) }
        if let keyError = error as? PatientIntake.KeyError { return APIError(keyError) }
        if let adminError = error as? AccountAdministration.Failure { return APIError(adminError) }
        if let accessError = error as? AccessError { return APIError(accessError) }
        if let careTeamError = error as? CareTeam.Failure { return APIError(careTeamError) }
        if let staffError = error as? StaffDirectory.Failure { return APIError(staffError) }
        if let facilityError = error as? FacilityDirectory.Failure { return APIError(facilityError) }
        if let recordError = error as? RecordFailure { return APIError(recordError) }
        if let emergencyError = error as? EmergencyAccess.Failure { return APIError(emergencyError) }
        if let crisisError = error as? CrisisAlerts.Failure { return APIError(crisisError) }
        if let announcementError = error as? Announcements.Failure { return APIError(announcementError) }
        if let httpError = error as? HTTPError {
            switch httpError.status {
            case .notFound:
                let methods = catalog.methods(matching: request.uri.path)
                if !methods.isEmpty {
                    var headers = HTTPFields()
                    headers[.allow] = methods.map(\.rawValue).joined(separator: ", ")
                    return APIError(.methodNotAllowed, code: "method_not_allowed",
                                    message: "\(request.method.rawValue) is not allowed here.", headers: headers)
                }
                return APIError(.notFound, code: "route_not_found", message: "No such endpoint.")
            case .contentTooLarge:
                return APIError(.contentTooLarge, code: "body_too_large", message: "The request body is too large.")
            case .badRequest:
                return APIError(.badRequest, code: "bad_request", message: "The request could not be read.")
            default:
                return APIError(httpError.status, code: "http_\(httpError.status.code)",
                                message: httpError.status.reasonPhrase)
            }
        }
        var metadata: Logger.Metadata = ["error_type": .string(String(describing: type(of: error)))]
        // SQLite's extended result code tells an operator what failed (disk
        // full, I/O, busy) without the statement or its arguments.
        if let error = error as? DatabaseError { metadata["sqlite_code"] = .stringConvertible(error.extendedResultCode.rawValue) }
        context.logger.error("unhandled error", metadata: metadata)
        return .internalError
    }
}
