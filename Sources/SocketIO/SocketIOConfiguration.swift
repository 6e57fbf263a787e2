/// The settings of a `SocketIOServer`; the defaults are those of the Socket.IO reference server.
public struct SocketIOConfiguration: Sendable {
    /// Where the transports are served (polling at `path` and `path/`; WebSocket upgrades at the same place).
    public var path: String
    /// How often the server pings each session.
    public var pingInterval: Duration
    /// How long after a ping the client has to answer before its session is closed (`.pingTimeout`).
    public var pingTimeout: Duration
    /// Announced in the open packet; larger POST bodies and WebSocket messages are refused.
    public var maxPayloadBytes: Int
    /// Packets one socket may have waiting to be sent; one more disconnects it (`.tooSlow`).
    /// Incoming packets waiting for the handler are bounded by the same number (overflow: `.transportError`).
    public var maxQueuedPackets: Int
    /// How long a new Engine.IO session may go without a successful CONNECT to "/" before it is closed.
    public var connectTimeout: Duration

    public init(
        path: String = "/socket.io",
        pingInterval: Duration = .seconds(25),
        pingTimeout: Duration = .seconds(20),
        maxPayloadBytes: Int = 1_000_000,
        maxQueuedPackets: Int = 1_000,
        connectTimeout: Duration = .seconds(45)
    ) {
        self.path = path
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.maxPayloadBytes = maxPayloadBytes
        self.maxQueuedPackets = maxQueuedPackets
        self.connectTimeout = connectTimeout
    }
}
