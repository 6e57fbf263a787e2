import Foundation
import Hummingbird
import RecoveryCore

/// `/api/v1/staff`: staff accounts of the caller's facility (a super admin:
/// all). Deactivated, never erased; role changes audited.
struct StaffController {
    let appliance: Appliance

    var administration: AccountAdministration { AccountAdministration(appliance: appliance) }
    var directory: StaffDirectory { StaffDirectory(appliance: appliance) }

    var endpoints: [Endpoint] {
        [
            Endpoint(.post, "/api/v1/staff", access: .staff(.staffManage), handler: create),
            Endpoint(.get, "/api/v1/staff", access: .staff(.staffRead), handler: list),
            Endpoint(.get, "/api/v1/staff/{id}", access: .staff(.staffRead), handler: show),
            Endpoint(.patch, "/api/v1/staff/{id}", access: .staff(.staffManage), handler: update),
            Endpoint(.delete, "/api/v1/staff/{id}", access: .staff(.staffManage), handler: deactivate),
            Endpoint(.post, "/api/v1/staff/{id}/unlock", access: .staff(.staffManage), handler: unlockStaff),
            Endpoint(.post, "/api/v1/staff/{id}/password", access: .staff(.staffManage), handler: resetPassword),
            Endpoint(.delete, "/api/v1/staff/{id}/mfa", access: .staff(.staffManage), handler: resetSecondFactor),
            Endpoint(.post, "/api/v1/patients/{id}/unlock", access: .staff(.staffManage), handler: unlockPatient),
        ]
    }

    struct NewStaff: Decodable {
        var facilityId: String?
        var email: String
        var firstName: String
        var lastName: String
        var role: String
        var password: String
    }

    struct NewPassword: Decodable { var password: String }

    struct StaffChanges: Decodable { var email: String?; var firstName: String?; var lastName: String?; var role: String? }

    struct StaffView: Encodable {
        var id: String, facilityId: String?, email: String, firstName: String, lastName: String, role: String
        var isActive: Bool, mfaEnabled: Bool, createdAt: String, lastLoginAt: String?
        init(_ m: StaffDirectory.Member) {
            id = m.account.id; facilityId = m.account.facilityID; email = m.account.email; firstName = m.account.firstName
            lastName = m.account.lastName; role = m.account.role.rawValue; isActive = m.account.isActive
            mfaEnabled = m.account.mfaEnabled; createdAt = m.createdAt; lastLoginAt = m.lastLoginAt
        }
    }

    struct StaffEnvelope: Encodable { var staff: StaffView }

    @Sendable func create(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let body = try await JSONBody.decode(NewStaff.self, from: request, limit: appliance.settings.maxBodyBytes)
        if body.password.count > 1_024 { throw APIError.validation(field: "password", "must be at most 1024 characters") }
        let member = try await directory.create(context.identity, .init(
            facilityID: body.facilityId, email: body.email, firstName: body.firstName, lastName: body.lastName,
            role: body.role, password: body.password), origin: context.origin)
        return try JSONBody.response(StaffEnvelope(staff: StaffView(member)), status: .created)
    }

    @Sendable func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let q = Query(request: request)
        let page = try q.integer("page", default: 1, range: 1...100_000)
        let limit = try q.integer("limit", default: 20, range: 1...100)
        let role = try q.oneOf("role", StaffRole.allCases.map(\.rawValue))
        let active = try q.oneOf("active", ["true", "false"]).map { $0 == "true" }
        let (members, total) = try await directory.list(context.identity, page: page, limit: limit, role: role, active: active)
        return try JSONBody.response(ListResponse(data: members.map(StaffView.init), page: page, limit: limit, total: total))
    }

    @Sendable func show(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return try JSONBody.response(StaffEnvelope(staff: StaffView(try await directory.get(context.identity, staffID: id, origin: context.origin))))
    }

    @Sendable func update(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let body = try await JSONBody.decode(StaffChanges.self, from: request, limit: appliance.settings.maxBodyBytes)
        var changes = StaffDirectory.Changes()
        changes.email = body.email; changes.firstName = body.firstName; changes.lastName = body.lastName; changes.role = body.role
        let member = try await directory.update(context.identity, staffID: id, changes: changes, origin: context.origin)
        return try JSONBody.response(StaffEnvelope(staff: StaffView(member)))
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

    @Sendable func resetPassword(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let body = try await JSONBody.decode(NewPassword.self, from: request, limit: appliance.settings.maxBodyBytes)
        if body.password.count > 1_024 { throw APIError.validation(field: "password", "must be at most 1024 characters") }
        try await administration.resetPassword(id, to: body.password, by: context.identity, origin: context.origin)
        return Response(status: .noContent)
    }

    @Sendable func resetSecondFactor(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await administration.resetSecondFactor(id, by: context.identity, origin: context.origin)
        return Response(status: .noContent)
    }

    @Sendable func unlockPatient(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await administration.unlockPatient(id, by: context.identity, origin: context.origin)
        return Response(status: .noContent)
    }
}
