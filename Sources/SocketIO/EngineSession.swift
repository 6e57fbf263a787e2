import Logging
import NIOCore
import Synchronization

/// One Engine.IO session (one `sid`) and the Socket.IO socket of namespace "/" riding on it.
///
/// All state sits behind one lock; nothing runs per session while it is idle. Work happens in short-lived tasks
/// started on demand: a *worker* that hands the client's Socket.IO packets to the handler one at a time (so a
/// socket's events stay in order while other sockets run concurrently), and, on WebSocket, a *writer* that drains
/// the outgoing queue into the connection (so `emit` never waits on a slow consumer). Timers (ping, pong deadline,
/// connect deadline) are fields read by the server's single sweeper.
final class EngineSession: Sendable {
    let sid: String
    let server: SocketIOServer
    let remoteAddress: String?
    let query: [String: String]
    private let state: Mutex<State>

    /// How the session reaches its client.
    enum Transport: Sendable {
        case polling
        case webSocket(WebSocketLink)
    }

    /// A client packet waiting for the handler, or the end of the session.
    enum Work: Sendable {
        case connect(payload: String?)
        case event(ackID: Int?, name: String, arguments: [String])
        case disconnect
        case closed(SocketIODisconnectReason)
    }

    /// The answer to a long-poll GET.
    enum PollAnswer: Sendable, Equatable {
        case packets([String])
        case refused(EngineError)
    }

    private struct State {
        var transport: Transport
        /// A WebSocket that answered the upgrade probe and waits for the client's `5`.
        var probe: WebSocketLink?
        /// Engine.IO packets (text form) waiting to be sent.
        var outbox: [String] = []
        /// Packets the writer has taken from `outbox` but not yet written.
        var inFlight = 0
        var writer: Task<Void, Never>?
        /// The pending long-poll GET.
        var poll: CheckedContinuation<PollAnswer, Never>?
        var closed: SocketIODisconnectReason?
        /// Closed politely on WebSocket: the writer sends a close frame once the outbox is drained.
        var closeFrameDue = false
        /// Closed on polling with packets the client has still to fetch: kept until the next GET or this instant.
        var lingerUntil: ContinuousClock.Instant?
        var inbox: [Work] = []
        var worker: Task<Void, Never>?
        var socket: SocketIOSocket?
        /// The socket whose `connect` the handler is running, and what it emitted meanwhile.
        var connecting: SocketIOSocket?
        var early: [String] = []
        var nextPingAt: ContinuousClock.Instant?
        var pongDeadline: ContinuousClock.Instant?
        var connectDeadline: ContinuousClock.Instant?

        var queued: Int { outbox.count + inFlight + early.count }
    }

    /// What a locked section decided to do once the lock is released.
    private struct Effects {
        var resume: (CheckedContinuation<PollAnswer, Never>, PollAnswer)?
        var close: (SocketIODisconnectReason, graceful: Bool)?
        var unregister = false
    }

    init(server: SocketIOServer, transport: Transport, remoteAddress: String?, query: [String: String]) {
        let now = ContinuousClock.now
        self.sid = SessionID.make()
        self.server = server
        self.remoteAddress = remoteAddress
        self.query = query
        self.state = Mutex(
            State(
                transport: transport,
                nextPingAt: now + server.configuration.pingInterval,
                connectDeadline: now + server.configuration.connectTimeout
            )
        )
    }

    private var configuration: SocketIOConfiguration { server.configuration }

    var openPacket: String {
        EnginePacket.open(
            sid: sid,
            upgrades: ["websocket"],
            pingInterval: configuration.pingInterval,
            pingTimeout: configuration.pingTimeout,
            maxPayload: configuration.maxPayloadBytes
        ).encoded
    }

    private func apply(_ effects: Effects) {
        if let (continuation, answer) = effects.resume { continuation.resume(returning: answer) }
        if let (reason, graceful) = effects.close { close(reason, graceful: graceful) }
        if effects.unregister { server.unregister(self) }
    }

    // MARK: Outgoing

    /// Appends packets to the outbox and gets them moving (answers the pending GET, or starts the writer).
    /// Overflow closes the session as too slow.
    private func enqueue(_ packets: [String], _ s: inout State, _ effects: inout Effects) -> Bool {
        guard s.closed == nil else { return false }
        guard s.queued + packets.count <= configuration.maxQueuedPackets else {
            effects.close = (.tooSlow, false)
            return false
        }
        s.outbox.append(contentsOf: packets)
        switch s.transport {
        case .polling:
            if let poll = s.poll {
                s.poll = nil
                effects.resume = (poll, .packets(s.outbox))
                s.outbox = []
            }
        case .webSocket(let link):
            startWriter(link, &s)
        }
        return true
    }

    private func startWriter(_ link: WebSocketLink, _ s: inout State) {
        guard s.writer == nil else { return }
        s.writer = Task { await self.runWriter(link) }
    }

    /// Sends engine packets that are not tied to a socket (pong, CONNECT_ERROR, ACK ...).
    @discardableResult
    func send(_ packets: [String]) -> Bool {
        var effects = Effects()
        let sent = state.withLock { s in enqueue(packets, &s, &effects) }
        apply(effects)
        return sent
    }

    /// `SocketIOSocket.emit`: queued while the socket is current; held back while its `connect` runs.
    func emit(_ packet: String, from socket: SocketIOSocket) -> Bool {
        var effects = Effects()
        let sent = state.withLock { s -> Bool in
            if s.socket === socket { return enqueue([packet], &s, &effects) }
            guard s.connecting === socket, s.closed == nil else { return false }
            guard s.queued < configuration.maxQueuedPackets else {
                effects.close = (.tooSlow, false)
                return false
            }
            s.early.append(packet)
            return true
        }
        apply(effects)
        return sent
    }

    func isCurrent(_ socket: SocketIOSocket) -> Bool {
        state.withLock { $0.closed == nil && ($0.socket === socket || $0.connecting === socket) }
    }

    private enum WriterStep {
        case write([String])
        case closeFrame
        case done
    }

    private func runWriter(_ link: WebSocketLink) async {
        while true {
            let step = state.withLock { s -> WriterStep in
                guard s.outbox.isEmpty else {
                    let batch = s.outbox
                    s.outbox = []
                    s.inFlight = batch.count
                    return .write(batch)
                }
                s.inFlight = 0
                s.writer = nil
                if s.closeFrameDue {
                    s.closeFrameDue = false
                    return .closeFrame
                }
                return .done
            }
            switch step {
            case .done:
                return
            case .closeFrame:
                try? await link.outbound.close(.normalClosure, reason: nil)
                return
            case .write(let batch):
                for packet in batch {
                    do {
                        try await link.outbound.write(.text(packet))
                    } catch {
                        state.withLock { s in
                            s.writer = nil
                            s.inFlight = 0
                        }
                        transportEnded(link, reason: .transportError)
                        return
                    }
                    state.withLock { $0.inFlight -= 1 }
                }
            }
        }
    }

    // MARK: Incoming

    /// Handles one packet from the client. Answers false when it broke the protocol (the session is then closed).
    @discardableResult
    func receive(_ packet: EnginePacket) -> Bool {
        switch packet.kind {
        case .pong:
            state.withLock { s in
                s.pongDeadline = nil
                if s.closed == nil { s.nextPingAt = .now + configuration.pingInterval }
            }
        case .ping:
            send([EnginePacket(.pong, packet.data).encoded])
        case .message:
            let message: SocketIOPacket
            do {
                message = try SocketIOPacket(decoding: packet.data)
            } catch {
                return protocolError("bad Socket.IO packet: \(error)")
            }
            switch message {
            case .connect(let namespace, let payload):
                guard namespace == SocketIOPacket.mainNamespace else {
                    send(["4" + SocketIOPacket.connectError(namespace: namespace, message: "Invalid namespace").encoded])
                    return true
                }
                return schedule(.connect(payload: payload))
            case .event(let namespace, let ackID, let name, let arguments):
                guard namespace == SocketIOPacket.mainNamespace else { return protocolError("EVENT to another namespace") }
                return schedule(.event(ackID: ackID, name: name, arguments: arguments))
            case .disconnect(let namespace):
                if namespace == SocketIOPacket.mainNamespace { return schedule(.disconnect) }
            case .ack:
                break  // the server never asks the client for an ack
            case .connectError:
                return protocolError("CONNECT_ERROR from the client")
            }
        case .close:
            close(.transportClose, graceful: false)
        case .noop:
            break
        case .open, .upgrade:
            return protocolError("unexpected \(packet.kind) packet")
        }
        return true
    }

    @discardableResult
    func protocolError(_ what: String) -> Bool {
        server.logger.debug("Socket.IO protocol error, closing the session", metadata: ["error": "\(what)"])
        close(.transportError, graceful: false)
        return false
    }

    /// Queues a packet for the worker, starting it if idle.
    private func schedule(_ work: Work) -> Bool {
        var effects = Effects()
        let accepted = state.withLock { s -> Bool in
            guard s.closed == nil else { return false }
            guard s.inbox.count < configuration.maxQueuedPackets else {
                effects.close = (.transportError, false)
                return false
            }
            s.inbox.append(work)
            startWorker(&s)
            return true
        }
        apply(effects)
        return accepted
    }

    private func startWorker(_ s: inout State) {
        guard s.worker == nil else { return }
        s.worker = Task { await self.runWorker() }
    }

    private func runWorker() async {
        while let work = state.withLock({ s -> Work? in
            guard !s.inbox.isEmpty else {
                s.worker = nil
                return nil
            }
            return s.inbox.removeFirst()
        }) {
            await perform(work)
        }
    }

    private func perform(_ work: Work) async {
        let handler = server.handler
        switch work {
        case .connect(let payload):
            let socket = state.withLock { s -> SocketIOSocket? in
                guard s.socket == nil, s.closed == nil else { return nil }
                let socket = SocketIOSocket(id: SessionID.make(), remoteAddress: remoteAddress, session: self)
                s.connecting = socket
                return socket
            }
            guard let socket else { return }  // already connected: a repeated CONNECT is ignored
            do {
                try await handler.connect(socket, auth: payload, query: query)
            } catch {
                let message = (error as? SocketIORefusal)?.message ?? "Connection refused"
                if !(error is SocketIORefusal) {
                    server.logger.error("Socket.IO connect handler failed", metadata: ["error_type": "\(type(of: error))"])
                }
                state.withLock { s in
                    s.connecting = nil
                    s.early = []
                }
                send(["4" + SocketIOPacket.connectError(namespace: SocketIOPacket.mainNamespace, message: message).encoded])
                return
            }
            var effects = Effects()
            let closedMeanwhile = state.withLock { s -> SocketIODisconnectReason? in
                s.connecting = nil
                if let reason = s.closed { return reason }
                let answer = SocketIOPacket.connect(namespace: SocketIOPacket.mainNamespace, payload: "{\"sid\":\(JSONText.quote(socket.id))}")
                let early = s.early
                s.early = []
                s.socket = socket
                s.connectDeadline = nil
                server.connectedDelta(1)
                _ = enqueue(["4" + answer.encoded] + early, &s, &effects)
                return nil
            }
            apply(effects)
            if let closedMeanwhile { await handler.disconnected(socket, reason: closedMeanwhile) }
        case .event(let ackID, let name, let arguments):
            // after a close the socket is still set here: events that came before it are still delivered
            guard let socket = state.withLock({ $0.socket }) else {
                protocolError("EVENT before CONNECT")
                return
            }
            let answer = await handler.event(socket, name: name, arguments: arguments)
            if let ackID, isCurrent(socket) {
                send(["4" + SocketIOPacket.ack(namespace: SocketIOPacket.mainNamespace, ackID: ackID, arguments: answer).encoded])
            }
        case .disconnect:
            let socket = state.withLock { s -> SocketIOSocket? in
                guard let socket = s.socket else { return nil }
                s.socket = nil
                if s.closed == nil { s.connectDeadline = .now + configuration.connectTimeout }
                server.connectedDelta(-1)
                return socket
            }
            if let socket { await handler.disconnected(socket, reason: .clientDisconnect) }
        case .closed(let reason):
            let socket = state.withLock { s -> SocketIOSocket? in
                guard let socket = s.socket else { return nil }
                s.socket = nil
                server.connectedDelta(-1)
                return socket
            }
            if let socket { await handler.disconnected(socket, reason: reason) }
        }
    }

    // MARK: Closing

    /// `SocketIOSocket.disconnect()`: DISCONNECT, then the Engine.IO session closes once it is delivered.
    func serverDisconnect(_ socket: SocketIOSocket) {
        guard state.withLock({ $0.socket === socket && $0.closed == nil }) else { return }
        close(.serverDisconnect, graceful: true, last: ["41"])
    }

    /// Ends the session once: the client is told, and the worker, after the packets that came before, hands the socket
    /// (if still connected) to the handler's `disconnected` with `reason` (a DISCONNECT already received wins: a client
    /// that sends DISCONNECT and closes at once has disconnected itself). `graceful` delivers what is queued first (plus `last`); otherwise it is dropped and
    /// a WebSocket is closed at once.
    func close(_ reason: SocketIODisconnectReason, graceful: Bool, last: [String] = []) {
        var effects = Effects()
        var hardClose: [any Channel] = []
        var closing: SocketIODisconnectReason?
        state.withLock { s in
            guard s.closed == nil else { return }
            s.closed = reason
            closing = reason
            s.nextPingAt = nil
            s.pongDeadline = nil
            s.connectDeadline = nil
            s.early = []
            s.inbox.append(.closed(reason))
            startWorker(&s)
            if graceful { s.outbox.append(contentsOf: last) } else { s.outbox = [] }
            if let probe = s.probe {
                hardClose.append(probe.channel)
                s.probe = nil
            }
            switch s.transport {
            case .polling:
                if let poll = s.poll {
                    s.poll = nil
                    effects.resume = (poll, .packets(s.outbox + [EnginePacket(.close).encoded]))
                    s.outbox = []
                    effects.unregister = true
                } else if graceful, !s.outbox.isEmpty {
                    s.lingerUntil = .now + min(configuration.pingTimeout, .seconds(10))
                } else {
                    effects.unregister = true
                }
            case .webSocket(let link):
                effects.unregister = true
                if graceful {
                    s.closeFrameDue = true
                    startWriter(link, &s)
                    // a client that stops reading never gets the close frame: cut it off after a grace period
                    let grace = TimeAmount.nanoseconds(min(configuration.pingTimeout, .seconds(10)).nanoseconds)
                    let channel = link.channel
                    channel.eventLoop.scheduleTask(in: grace) { channel.close(promise: nil) }
                } else {
                    hardClose.append(link.channel)
                }
            }
        }
        for channel in hardClose { channel.close(promise: nil) }
        apply(effects)
        if let reason = closing {
            server.logger.debug("Socket.IO session closed", metadata: ["reason": "\(reason.rawValue)"])
        }
    }

    /// The WebSocket `link` ended (the client went away, or a write failed).
    func transportEnded(_ link: WebSocketLink, reason: SocketIODisconnectReason) {
        let current = state.withLock { s -> Bool in
            if case .webSocket(let active) = s.transport { return active.isSame(as: link) }
            return false
        }
        if current { close(reason, graceful: false) }
    }

    var isClosed: Bool { state.withLock { $0.closed != nil } }
    var hasPendingPoll: Bool { state.withLock { $0.poll != nil } }
    var worker: Task<Void, Never>? { state.withLock { $0.worker } }

    // MARK: Long polling

    /// A long-poll GET: answers queued packets at once, or waits for some. A second concurrent GET closes the session.
    func poll() async -> PollAnswer {
        await withCheckedContinuation { continuation in
            var effects = Effects()
            let immediate = state.withLock { s -> PollAnswer? in
                if s.closed != nil {
                    guard s.lingerUntil != nil else { return .refused(.unknownSession) }
                    s.lingerUntil = nil
                    effects.unregister = true
                    let packets = s.outbox + [EnginePacket(.close).encoded]
                    s.outbox = []
                    return .packets(packets)
                }
                guard case .polling = s.transport else { return .refused(.badRequest) }
                if s.poll != nil {
                    effects.close = (.transportError, false)
                    return .refused(.badRequest)
                }
                if !s.outbox.isEmpty {
                    let packets = s.outbox
                    s.outbox = []
                    return .packets(packets)
                }
                if s.probe != nil { return .packets([EnginePacket(.noop).encoded]) }
                s.poll = continuation
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
            apply(effects)
        }
    }

    /// Whether POSTed packets may be taken (the session still polls).
    var acceptsPolling: Bool {
        state.withLock { s in
            guard s.closed == nil, case .polling = s.transport else { return false }
            return true
        }
    }

    // MARK: Upgrade

    /// A WebSocket for this session sent `2probe`: from now on polling GETs are answered with noop so the client
    /// can finish the upgrade. False when the session cannot upgrade (closed, not polling, another probe).
    func beginProbe(_ link: WebSocketLink) -> Bool {
        var effects = Effects()
        let accepted = state.withLock { s -> Bool in
            guard s.closed == nil, case .polling = s.transport, s.probe == nil else { return false }
            s.probe = link
            if let poll = s.poll {
                s.poll = nil
                effects.resume = (poll, .packets(s.outbox + [EnginePacket(.noop).encoded]))
                s.outbox = []
            }
            return true
        }
        apply(effects)
        return accepted
    }

    /// The client sent `5` over the probed WebSocket: it carries everything from now on.
    func completeUpgrade(_ link: WebSocketLink) -> Bool {
        var effects = Effects()
        let upgraded = state.withLock { s -> Bool in
            guard s.closed == nil, link.isSame(as: s.probe) else { return false }
            s.probe = nil
            s.transport = .webSocket(link)
            if let poll = s.poll {
                s.poll = nil
                effects.resume = (poll, .packets([EnginePacket(.noop).encoded]))
            }
            if !s.outbox.isEmpty { startWriter(link, &s) }
            return true
        }
        apply(effects)
        return upgraded
    }

    /// The probing WebSocket went away before the upgrade completed: the session carries on polling.
    func abandonProbe(_ link: WebSocketLink) {
        state.withLock { s in
            if link.isSame(as: s.probe) { s.probe = nil }
        }
    }

    /// A direct WebSocket session: its first frame is the open packet.
    func startDirectWebSocket(_ link: WebSocketLink) {
        state.withLock { s in
            s.outbox.insert(openPacket, at: 0)
            startWriter(link, &s)
        }
    }

    // MARK: Timers

    /// Called by the sweeper: sends the due ping, closes on a missed pong or connect deadline.
    /// Answers true when the session is finished and should leave the registry.
    func tick(now: ContinuousClock.Instant) -> Bool {
        var effects = Effects()
        let finished = state.withLock { s -> Bool in
            if s.closed != nil {
                guard let linger = s.lingerUntil else { return true }
                return now >= linger
            }
            if let deadline = s.pongDeadline, now >= deadline {
                effects.close = (.pingTimeout, false)
            } else if let deadline = s.connectDeadline, now >= deadline {
                server.logger.debug("Socket.IO client did not connect in time")
                effects.close = (.transportError, false)
            } else if let due = s.nextPingAt, now >= due {
                s.nextPingAt = nil
                s.pongDeadline = now + configuration.pingTimeout
                _ = enqueue([EnginePacket(.ping).encoded], &s, &effects)
            }
            return false
        }
        apply(effects)
        return finished
    }
}
