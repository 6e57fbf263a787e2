/// What the server asks of the application behind it (one handler, namespace "/").
public protocol SocketIOHandler: Sendable {
    /// A client's CONNECT to the main namespace. `auth` is the raw JSON text of the CONNECT packet's payload (nil when absent);
    /// `query` the handshake request's query items (e.g. a `token` given as a query parameter). Throw `SocketIORefusal` to answer
    /// CONNECT_ERROR `{"message": ...}` (the socket is not connected and no other event reaches the handler).
    /// Events emitted on the socket while this runs are sent after the CONNECT answer (dropped if it is refused).
    func connect(_ socket: SocketIOSocket, auth: String?, query: [String: String]) async throws
    /// An EVENT from the client: its name and the raw JSON text of each further argument. The returned arguments (raw JSON text each)
    /// are sent as the ACK when the client asked for one (ack id present); otherwise ignored.
    /// Calls for one socket come one at a time, in the order its packets arrived; different sockets run concurrently.
    func event(_ socket: SocketIOSocket, name: String, arguments: [String]) async -> [String]
    /// The socket is gone, for `reason`. Called exactly once per connected socket, after its last `event` call returned.
    func disconnected(_ socket: SocketIOSocket, reason: SocketIODisconnectReason) async
}

/// Thrown by `SocketIOHandler.connect` to refuse a client: it gets CONNECT_ERROR `{"message": message}`.
public struct SocketIORefusal: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// Why a socket is gone, in the words of the Socket.IO reference server.
public enum SocketIODisconnectReason: String, Sendable {
    /// The client sent DISCONNECT.
    case clientDisconnect = "client namespace disconnect"
    /// `SocketIOSocket.disconnect()` was called.
    case serverDisconnect = "server namespace disconnect"
    /// The connection closed (client went away, Engine.IO close packet, or server shutdown).
    case transportClose = "transport close"
    /// The connection failed, or the client broke the protocol.
    case transportError = "transport error"
    /// The client did not answer a ping within `pingTimeout`.
    case pingTimeout = "ping timeout"
    /// The socket's outgoing queue overflowed `maxQueuedPackets`.
    case tooSlow = "too slow"
}
