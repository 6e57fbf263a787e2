import Foundation
import RecoveryCore

/// The messaging events a client sends over its socket (`message:send`,
/// `message:read`, `typing`): the same core calls as the REST routes, answered
/// in the acknowledgement with what the REST answer carries.
struct RealtimeMessaging: Sendable {
    let appliance: Appliance

    var messaging: Messaging { Messaging(appliance: appliance) }

    /// `message:send` `{conversation_id, body, client_id?}` → `{message}`; a retried client_id answers the stored message.
    func send(_ argument: JSONValue, identity: Identity, origin: RequestOrigin) async throws -> JSONValue {
        let conversationID = try Self.uuid(argument, "conversation_id")
        guard case .string(let body)? = argument["body"] else { throw APIError.validation(field: "body", "must be a string") }
        var clientID: String?
        switch argument["client_id"] {
        case nil, .null?: clientID = nil
        case .string(let text)?: clientID = text
        default: throw APIError.validation(field: "client_id", "must be a string")
        }
        let (message, _) = try await messaging.send(identity, conversationID: conversationID, body: body, clientID: clientID, origin: origin)
        return .object(["message": message.json])
    }

    /// `message:read` `{conversation_id, up_to_message_id}` → the read state (unread counts).
    func read(_ argument: JSONValue, identity: Identity, origin: RequestOrigin) async throws -> JSONValue {
        let state = try await messaging.markRead(identity, conversationID: try Self.uuid(argument, "conversation_id"),
                                                 upToMessageID: try Self.uuid(argument, "up_to_message_id"), origin: origin)
        return state.json
    }

    /// `typing` `{conversation_id}`: a `typing` event to the other participants the policy admits (not kept).
    func typing(_ argument: JSONValue, identity: Identity, dispatcher: FeedDispatcher) async throws -> JSONValue {
        let conversationID = try Self.uuid(argument, "conversation_id")
        let candidates = await dispatcher.listeners(near: identity)
        let recipients = try await appliance.database.read { [messaging] db in
            try messaging.typingRecipients(identity, conversationID: conversationID, among: candidates, in: db)
        }
        let payload = JSONValue.object(["conversation_id": .string(conversationID),
                                        "from": .object(["kind": .string(identity.kind.rawValue), "id": .string(identity.subjectID)])])
        await dispatcher.emit(RealtimeEvent.typing, payload, to: recipients.map(\.key))
        return .object(["ok": .bool(true)])
    }

    /// A member that must be a UUID; answered lowercased.
    static func uuid(_ argument: JSONValue, _ field: String) throws -> String {
        guard case .string(let text)? = argument[field], let uuid = UUID(uuidString: text) else {
            throw APIError.validation(field: field, "must be a UUID")
        }
        return uuid.uuidString.lowercased()
    }
}
