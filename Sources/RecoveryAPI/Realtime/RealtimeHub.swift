import Foundation
import GRDB
import Logging
import RecoveryCore
import SocketIO

/// The appliance's realtime side, behind the Socket.IO server: a socket signs
/// in with an access token (`auth: {token}`, or the `token` query parameter),
/// receives the durable feed's events that the access policy lets its identity
/// read, and sends events that run through the same core functions as the
/// REST API. A socket outlives its access token (`auth:refresh` swaps it) but
/// not its session: revoked, ended or idle, it is disconnected at once.
final class RealtimeHub: SocketIOHandler {
    let appliance: Appliance
    let auth: AuthService
    let dispatcher: FeedDispatcher
    let clientEvents: ClientEvents
    let logger: Logger

    init(appliance: Appliance, logger: Logger) {
        self.appliance = appliance
        self.auth = AuthService(appliance: appliance)
        self.dispatcher = FeedDispatcher(appliance: appliance, logger: logger)
        self.clientEvents = ClientEvents(appliance: appliance)
        self.logger = logger
    }

    func connect(_ socket: SocketIOSocket, auth payload: String?, query: [String: String]) async throws {
        let parsed = payload.flatMap { try? JSONParser.parse(Array($0.utf8)) }
        let token: String?
        if case .string(let text)? = parsed?["token"] { token = text } else { token = query["token"] }
        guard let token, let identity = await auth.authenticate(bearer: token) else {
            throw SocketIORefusal("unauthenticated: send a valid access token as auth {token}")
        }
        guard !auth.mustChangePassword(identity) else {
            throw SocketIORefusal("password_change_required: choose your own password first")
        }
        let since: Int64?
        switch parsed?["since"] ?? query["since"].map(JSONValue.string) {
        case .integer(let value)?: since = Int64(value)
        case .string(let text)?: since = Int64(text)
        default: since = nil
        }
        await dispatcher.join(socket, identity: identity, since: since)
    }

    func event(_ socket: SocketIOSocket, name: String, arguments: [String]) async -> [String] {
        guard let identity = await dispatcher.identity(of: socket.id) else { return [] }
        // A client's event is use of the session: a revoked or idle one ends here.
        guard !appliance.revokedSessions.contains(identity.sessionID),
              appliance.sessionActivity.record(identity, at: Date()) else {
            socket.disconnect()
            return []
        }
        let argument = arguments.first.flatMap { try? JSONParser.parse(Array($0.utf8)) } ?? .null
        if name == "auth:refresh" {
            return [await refresh(socket, identity: identity, argument)]
        }
        return [await clientEvents.handle(name, argument, identity: identity, socket: socket, dispatcher: dispatcher)
            .canonicalText]
    }

    func disconnected(_ socket: SocketIOSocket, reason: SocketIODisconnectReason) async {
        await dispatcher.leave(socket.id)
    }

    /// `auth:refresh` `{token}`: a newer access token of the same session.
    func refresh(_ socket: SocketIOSocket, identity: Identity, _ argument: JSONValue) async -> String {
        guard case .string(let token)? = argument["token"], let fresh = await auth.authenticate(bearer: token),
              fresh.sessionID == identity.sessionID, fresh.subjectID == identity.subjectID, fresh.kind == identity.kind else {
            return ClientEvents.failure(code: "invalid_token", message: "Send an access token of this session as {token}.",
                                        field: "token").canonicalText
        }
        await dispatcher.update(socket.id, identity: fresh)
        return JSONValue.object(["ok": .bool(true)]).canonicalText
    }

    /// Runs the dispatcher's delivery loop and session watch until cancelled.
    func run() async {
        await dispatcher.run()
    }
}
