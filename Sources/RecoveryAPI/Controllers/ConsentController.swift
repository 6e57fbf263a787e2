import Foundation
import Hummingbird
import RecoveryCore

/// Part 2 consents, their revocation, and the accounting of disclosures.
struct ConsentController {
    let appliance: Appliance

    var consents: Consents { Consents(appliance: appliance) }
    var limit: Int { appliance.settings.maxBodyBytes }

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/api/v1/patients/{id}/consents", access: .staff(.consentsManage), handler: list),
            Endpoint(.post, "/api/v1/patients/{id}/consents", access: .staff(.consentsManage), handler: create),
            Endpoint(.post, "/api/v1/consents/{id}/revoke", access: .staff(.consentsManage), handler: revoke),
            Endpoint(.get, "/api/v1/patients/{id}/disclosures", access: .staff(.consentsManage), handler: disclosures),
            Endpoint(.post, "/api/v1/patients/{id}/disclosures", access: .staff(.consentsManage), handler: disclose),
        ]
    }

    @Sendable func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return JSONValue.object(["data": .array(try await consents.list(context.identity, patientID: id, origin: context.origin))]).response()
    }

    @Sendable func create(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .consentsManage, action: "consent.create", appliance)
        let body = try await JSONBody.object(from: request, limit: limit)
        var d = Consents.Draft()
        d.discloser = try BodyField.string(body, "discloser")
        d.recipient = try BodyField.string(body, "recipient")
        d.purpose = try BodyField.string(body, "purpose")
        d.informationScope = try BodyField.strings(body, "information_scope")
        d.informationDetail = try BodyField.string(body, "information_detail")
        d.expiresAt = try BodyField.string(body, "expires_at")
        d.expiryCondition = try BodyField.string(body, "expiry_condition")
        d.signedBy = try BodyField.string(body, "signed_by")
        d.signerName = try BodyField.string(body, "signer_name")
        d.signedOn = try BodyField.string(body, "signed_on")
        let consent = try await consents.create(context.identity, patientID: id, d, origin: context.origin)
        return JSONValue.object(["consent": consent]).response(status: .created)
    }

    @Sendable func revoke(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return JSONValue.object(["consent": try await consents.revoke(context.identity, consentID: id, origin: context.origin)]).response()
    }

    @Sendable func disclosures(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return JSONValue.object(["data": .array(try await consents.disclosures(context.identity, patientID: id, origin: context.origin))]).response()
    }

    @Sendable func disclose(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .consentsManage, action: "disclosure.create", appliance)
        let body = try await JSONBody.object(from: request, limit: limit)
        let disclosure = try await consents.recordDisclosure(context.identity, patientID: id, consentID: try BodyField.uuid(body, "consent_id"),
                                                             kind: try BodyField.string(body, "kind"), description: try BodyField.string(body, "description"),
                                                             documentID: try BodyField.uuid(body, "document_id"), origin: context.origin)
        return JSONValue.object(["disclosure": disclosure]).response(status: .created)
    }
}
