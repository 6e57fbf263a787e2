import Foundation
import RecoveryCore
import SocketIO

/// The events a client sends over its socket. Each runs through the same core
/// function as its REST twin, with the socket's identity, and answers the
/// acknowledgement with what the REST call would answer (`{message}`,
/// `{alert}`, `{ok}`) or `{error: {code, message, details}}` as the REST error
/// envelope would carry it.
struct ClientEvents: Sendable {
    /// Every client-to-server event (the AsyncAPI document's `send` operations).
    static let names = ["auth:refresh", "message:send", "message:read", "typing", "crisis:trigger"]

    let appliance: Appliance

    func handle(_ name: String, _ argument: JSONValue, identity: Identity, socket: SocketIOSocket,
                dispatcher: FeedDispatcher) async -> JSONValue {
        let origin = RequestOrigin(ipAddress: socket.remoteAddress, requestID: "socket-" + socket.id, device: "socket.io")
        do {
            guard case .object = argument else { throw APIError.validation(field: "body", "must be a JSON object") }
            switch name {
            case "message:send":
                return try await RealtimeMessaging(appliance: appliance).send(argument, identity: identity, origin: origin)
            case "message:read":
                return try await RealtimeMessaging(appliance: appliance).read(argument, identity: identity, origin: origin)
            case "typing":
                return try await RealtimeMessaging(appliance: appliance).typing(argument, identity: identity, dispatcher: dispatcher)
            case "crisis:trigger":
                return try await RealtimeCrisis(appliance: appliance).trigger(argument, identity: identity, origin: origin)
            default:
                throw APIError(.notFound, code: "unknown_event", message: "No such event: \(String(name.prefix(64))).")
            }
        } catch {
            return Self.failure(APIError(domain: error) ?? .internalError)
        }
    }

    static func failure(_ error: APIError) -> JSONValue {
        .object(["error": .object([
            "code": .string(error.code), "message": .string(error.message),
            "details": .array(error.details.map { .object(["field": .string($0.field), "issue": .string($0.issue)]) }),
        ])])
    }

    static func failure(code: String, message: String, field: String) -> JSONValue {
        failure(APIError(.badRequest, code: code, message: message, details: [.init(field: field, issue: "is not valid")]))
    }
}
