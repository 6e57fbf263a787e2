/// One connected socket of namespace "/": what the handler gets, keeps, and emits on.
/// It holds no buffers of its own; its packets queue in the Engine.IO session underneath.
public final class SocketIOSocket: Sendable, Hashable, CustomStringConvertible {
    /// The Socket.IO socket id (not the Engine.IO sid).
    public let id: String
    /// The client's IP address as seen on the handshake request (nil when the request context does not say).
    public let remoteAddress: String?
    let session: EngineSession

    init(id: String, remoteAddress: String?, session: EngineSession) {
        self.id = id
        self.remoteAddress = remoteAddress
        self.session = session
    }

    /// Queues EVENT [event, ...arguments] (arguments: raw JSON text each, not checked). Answers false when the socket
    /// is gone, or when its queue already holds `maxQueuedPackets` (then the socket is disconnected with `.tooSlow`).
    /// Never waits: writing happens elsewhere. Called during the handler's `connect`, the event follows the CONNECT answer.
    @discardableResult
    public func emit(_ event: String, _ arguments: [String]) -> Bool {
        session.emit("4" + SocketIOPacket.eventText(name: event, arguments: arguments), from: self)
    }

    /// Sends DISCONNECT and closes; the handler's `disconnected` gets `.serverDisconnect`.
    public func disconnect() {
        session.serverDisconnect(self)
    }

    /// Whether the socket is still connected (or being connected).
    public var isConnected: Bool { session.isCurrent(self) }

    public static func == (lhs: SocketIOSocket, rhs: SocketIOSocket) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
    public var description: String { "SocketIOSocket(\(id))" }
}
