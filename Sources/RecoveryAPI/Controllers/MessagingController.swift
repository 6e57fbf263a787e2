import Foundation
import Hummingbird
import RecoveryCore

/// `/api/v1/conversations` and `/api/v1/message-templates`. Staff and
/// patients call the same conversation routes with their own tokens
/// (`.authenticated`): the conversation rule of the access policy decides
/// (staff need `messages.use`). Templates are staff routes.
struct MessagingController {
    let appliance: Appliance

    var messaging: Messaging { Messaging(appliance: appliance) }
    var templates: MessageTemplates { MessageTemplates(appliance: appliance) }

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/api/v1/conversations", access: .authenticated, handler: list),
            Endpoint(.post, "/api/v1/conversations", access: .authenticated, handler: create),
            Endpoint(.get, "/api/v1/conversations/{id}", access: .authenticated, handler: show),
            Endpoint(.get, "/api/v1/conversations/{id}/messages", access: .authenticated, handler: messages),
            Endpoint(.post, "/api/v1/conversations/{id}/messages", access: .authenticated, handler: send),
            Endpoint(.post, "/api/v1/conversations/{id}/read", access: .authenticated, handler: read),
            Endpoint(.get, "/api/v1/message-templates", access: .staff(.messagesUse), handler: listTemplates),
            Endpoint(.post, "/api/v1/message-templates", access: .staff(.messageTemplatesManage), handler: createTemplate),
            Endpoint(.patch, "/api/v1/message-templates/{id}", access: .staff(.messageTemplatesManage), handler: updateTemplate),
            Endpoint(.delete, "/api/v1/message-templates/{id}", access: .staff(.messageTemplatesManage), handler: deleteTemplate),
        ]
    }

    struct GroupPatient: Decodable { var patientId: String; var alias: String }
    struct Create: Decodable {
        var kind: String?, patientId: String?, participantIds: [String]?, patients: [GroupPatient]?, title: String?, facilityId: String?
    }
    struct Send: Decodable { var body: String; var clientId: String? }
    struct Read: Decodable { var upToMessageId: String }
    struct CreateTemplate: Decodable { var title: String; var body: String; var facilityId: String? }
    struct UpdateTemplate: Decodable { var title: String?; var body: String?; var version: Int? }

    @Sendable func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let q = Query(request: request)
        let page = try q.integer("page", default: 1, range: 1...100_000)
        let limit = try q.integer("limit", default: 50, range: 1...100)
        let result = try await messaging.list(context.identity, page: page, limit: limit, origin: context.origin)
        guard case .object(var members) = JSONValue.list(result.conversations.map(\.json), page: page, limit: limit, total: result.total) else {
            throw APIError.internalError
        }
        members["total_unread"] = .integer(result.totalUnread)
        return JSONValue.object(members).response()
    }

    @Sendable func create(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let body = try await JSONBody.decode(Create.self, from: request, limit: appliance.settings.maxBodyBytes)
        let wanted = Messaging.NewConversation(kind: body.kind, patientID: body.patientId, participantIDs: body.participantIds,
                                               patients: body.patients?.map { .init(patientID: $0.patientId, alias: $0.alias) }, title: body.title)
        let conversation = try await messaging.create(context.identity, with(wanted, context.identity, body.facilityId), origin: context.origin)
        return JSONValue.object(["conversation": conversation.json]).response(status: .created)
    }

    /// The request with the facility a box-wide account names (the policy checks it against the identity).
    func with(_ wanted: Messaging.NewConversation, _ identity: Identity, _ facility: String?) -> Messaging.NewConversation {
        var copy = wanted
        copy.facilityID = identity.facilityID == nil ? facility : nil
        return copy
    }

    @Sendable func show(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let conversation = try await messaging.conversation(context.identity, conversationID: id, origin: context.origin)
        return JSONValue.object(["conversation": conversation.json]).response()
    }

    @Sendable func messages(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let q = Query(request: request)
        let limit = try q.integer("limit", default: 50, range: 1...100)
        let cursor = try q.string("cursor", maxLength: 64)
        let page = try await messaging.messages(context.identity, conversationID: id, cursor: cursor, limit: limit, origin: context.origin)
        return JSONValue.object(["data": .array(page.messages.map(\.json)),
                                 "next_cursor": page.nextCursor.map { .string($0) } ?? .null]).response()
    }

    /// 201 with the new message; 200 with the stored one when the client id was sent before with the same body.
    @Sendable func send(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let body = try await JSONBody.decode(Send.self, from: request, limit: appliance.settings.maxBodyBytes)
        let (message, replayed) = try await messaging.send(context.identity, conversationID: id, body: body.body, clientID: body.clientId,
                                                           origin: context.origin)
        return JSONValue.object(["message": message.json]).response(status: replayed ? .ok : .created)
    }

    @Sendable func read(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let body = try await JSONBody.decode(Read.self, from: request, limit: appliance.settings.maxBodyBytes)
        let state = try await messaging.markRead(context.identity, conversationID: id, upToMessageID: body.upToMessageId, origin: context.origin)
        return state.json.response()
    }

    @Sendable func listTemplates(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let q = Query(request: request)
        let page = try q.integer("page", default: 1, range: 1...100_000)
        let limit = try q.integer("limit", default: 50, range: 1...100)
        let (items, total) = try await templates.list(context.identity, page: page, limit: limit, origin: context.origin)
        return JSONValue.list(items.map(\.json), page: page, limit: limit, total: total).response()
    }

    @Sendable func createTemplate(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let body = try await JSONBody.decode(CreateTemplate.self, from: request, limit: appliance.settings.maxBodyBytes)
        let template = try await templates.create(context.identity, title: body.title, body: body.body,
                                                  facilityID: context.identity.facilityID == nil ? body.facilityId : nil, origin: context.origin)
        return JSONValue.object(["template": template.json]).response(status: .created)
    }

    @Sendable func updateTemplate(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let body = try await JSONBody.decode(UpdateTemplate.self, from: request, limit: appliance.settings.maxBodyBytes)
        let template = try await templates.update(context.identity, templateID: id, title: body.title, body: body.body, version: body.version,
                                                  origin: context.origin)
        return JSONValue.object(["template": template.json]).response()
    }

    @Sendable func deleteTemplate(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await templates.delete(context.identity, templateID: id, origin: context.origin)
        return Response(status: .noContent)
    }
}
