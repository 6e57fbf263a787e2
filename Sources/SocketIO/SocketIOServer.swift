import Logging
import Synchronization

/// An Engine.IO v4 / Socket.IO v5 server for namespace "/", over long-polling and WebSocket, in front of one
/// `SocketIOHandler`. Add it to a Hummingbird application with `addPollingRoutes(to:)` and `webSocketUpgrade(request:channel:logger:)`;
/// call `shutdown()` when the application stops.
///
/// Sessions cost nothing while idle but their state: one sweeper task, running only while sessions exist,
/// drives every session's pings and deadlines. Measured (debug build, 1,000 python websocket-client connections, each
/// CONNECTed to "/" and idle): about 29 KB of resident memory per socket, of which about 26 KB is Hummingbird's own
/// WebSocket connection (a bare echo upgrade measured the same way); an idle polling socket, its pending GET included,
/// about 30 KB.
///
/// The long-poll GET waits up to `pingInterval` for packets, so an HTTP idle timeout on the server must be longer.
public final class SocketIOServer: Sendable {
    let configuration: SocketIOConfiguration
    let handler: any SocketIOHandler
    let logger: Logger
    private let registry = Mutex(Registry())
    private let connected = Atomic<Int>(0)

    /// The live sessions by sid, and the sweeper driving their timers.
    private struct Registry {
        var sessions: [String: EngineSession] = [:]
        var sweeper: Task<Void, Never>?
        var shutDown = false
    }

    public init(configuration: SocketIOConfiguration, handler: any SocketIOHandler, logger: Logger) {
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
    }

    /// Sockets of namespace "/" currently connected.
    public var connectedCount: Int { connected.load(ordering: .relaxed) }

    /// Engine.IO sessions currently open (connected to "/" or not yet).
    var sessionCount: Int { registry.withLock { $0.sessions.count } }

    func connectedDelta(_ delta: Int) {
        connected.add(delta, ordering: .relaxed)
    }

    /// Adds a new session; false once the server is shut down.
    func register(_ session: EngineSession) -> Bool {
        let registered = registry.withLock { r in
            guard !r.shutDown else { return false }
            r.sessions[session.sid] = session
            if r.sweeper == nil { r.sweeper = Task { await self.sweep() } }
            return true
        }
        if registered {
            logger.debug("Socket.IO session opened")
        }
        return registered
    }

    func unregister(_ session: EngineSession) {
        registry.withLock { r in
            if r.sessions[session.sid] === session { r.sessions[session.sid] = nil }
        }
    }

    var isShutDown: Bool { registry.withLock { $0.shutDown } }

    func session(_ sid: String) -> EngineSession? {
        registry.withLock { $0.sessions[sid] }
    }

    /// How often the sweeper looks at the sessions: a fraction of the shortest timer, at most half a second.
    var sweepInterval: Duration {
        let shortest = min(configuration.pingInterval, configuration.pingTimeout, configuration.connectTimeout)
        return max(.milliseconds(5), min(.milliseconds(500), shortest / 10))
    }

    /// Sends due pings and enforces deadlines for all sessions; ends when there are none left.
    private func sweep() async {
        while true {
            try? await Task.sleep(for: sweepInterval)
            guard
                let sessions = registry.withLock({ r -> [EngineSession]? in
                    guard !r.sessions.isEmpty, !Task.isCancelled else {
                        r.sweeper = nil
                        return nil
                    }
                    return Array(r.sessions.values)
                })
            else { return }
            let now = ContinuousClock.now
            for session in sessions where session.tick(now: now) {
                unregister(session)
            }
        }
    }

    /// Disconnects every socket (server shutdown) and waits until the handler has been told of each.
    /// Clients see their transport close (reason `.transportClose`), so they reconnect once the server is back.
    /// New sessions are refused from now on.
    public func shutdown() async {
        let (sessions, sweeper) = registry.withLock { r in
            r.shutDown = true
            return (Array(r.sessions.values), r.sweeper)
        }
        for session in sessions { session.close(.transportClose, graceful: true) }
        for session in sessions { await session.worker?.value }
        registry.withLock { $0.sessions.removeAll() }
        sweeper?.cancel()
        await sweeper?.value
    }
}
