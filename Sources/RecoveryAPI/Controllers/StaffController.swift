import Hummingbird
import RecoveryCore

/// `/api/v1/staff`: account administration (deactivation, unlocking).
struct StaffController {
    let appliance: Appliance

    var administration: AccountAdministration { AccountAdministration(appliance: appliance) }
    static let admins: Access = .staff([.admin, .superAdmin])

    var endpoints: [Endpoint] {
        [
            Endpoint(.delete, "/api/v1/staff/{id}", access: Self.admins, handler: deactivate),
            Endpoint(.post, "/api/v1/staff/{id}/unlock", access: Self.admins, handler: unlockStaff),
            Endpoint(.post, "/api/v1/patients/{id}/unlock", access: Self.admins, handler: unlockPatient),
        ]
    }

    @Sendable func deactivate(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await administration.deactivateStaff(id, by: context.identity, origin: context.origin)
        return Response(status: .noContent)
    }

    @Sendable func unlockStaff(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await administration.unlockStaff(id, by: context.identity, origin: context.origin)
        return Response(status: .noContent)
    }

    @Sendable func unlockPatient(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await administration.unlockPatient(id, by: context.identity, origin: context.origin)
        return Response(status: .noContent)
    }
}
