import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import HummingbirdWebSocket
import Logging
import NIOCore
import Synchronization
import Testing

@testable import SocketIO

/// A handler for the live tests: refuses auth `{"token":"bad"}`, greets on connect, echoes `echo` as its ack,
/// emits `count` events on `flood`, and records every call.
final class RecordingHandler: SocketIOHandler {
    let log = Mutex<[String]>([])
    let sockets = Mutex<[SocketIOSocket]>([])

    func connect(_ socket: SocketIOSocket, auth: String?, query: [String: String]) async throws {
        if auth == "{\"token\":\"bad\"}" {
            record("refused")
            throw SocketIORefusal("bad token")
        }
        record("connect \(auth ?? "nil") EIO=\(query["EIO"] ?? "-") token=\(query["token"] ?? "-")")
        sockets.withLock { $0.append(socket) }
        socket.emit("welcome", ["\"hi\""])
    }

    func event(_ socket: SocketIOSocket, name: String, arguments: [String]) async -> [String] {
        record("event \(name) \(arguments.joined(separator: " "))")
        switch name {
        case "echo":
            return arguments
        case "flood":
            let count = Int(arguments.first ?? "0") ?? 0
            var accepted = 0
            for index in 0..<count where socket.emit("item", [String(index)]) { accepted += 1 }
            return [String(accepted)]
        case "sleep":
            try? await Task.sleep(for: .milliseconds(100))
            return []
        default:
            return []
        }
    }

    func disconnected(_ socket: SocketIOSocket, reason: SocketIODisconnectReason) async {
        record("disconnected \(reason.rawValue)")
        sockets.withLock { $0.removeAll { $0 === socket } }
    }

    func record(_ line: String) { log.withLock { $0.append(line) } }
    var lines: [String] { log.withLock { $0 } }
    var lastSocket: SocketIOSocket? { sockets.withLock { $0.last } }
}

/// Waits (up to `limit`, 5 s unless given) until `condition` holds.
func eventually(_ what: Comment = "", within limit: Duration = .seconds(5), _ condition: () -> Bool) async {
    let deadline = ContinuousClock.now + limit
    while !condition(), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
    #expect(condition(), what)
}

/// Runs a Hummingbird application with the Socket.IO server on an ephemeral loopback port.
func withSocketIOServer(
    _ configuration: SocketIOConfiguration = .init(),
    handler: RecordingHandler = RecordingHandler(),
    _ body: @Sendable (_ port: Int, _ io: SocketIOServer, _ handler: RecordingHandler) async throws -> Void
) async throws {
    var logger = Logger(label: "socketio-test")
    logger.logLevel = .info
    let io = SocketIOServer(configuration: configuration, handler: handler, logger: logger)
    let router = Router()
    io.addPollingRoutes(to: router)
    let app = Application(
        router: router,
        server: .http1WebSocketUpgrade { request, channel, logger in
            io.webSocketUpgrade(request: request, channel: channel, logger: logger)
        },
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        logger: logger
    )
    try await app.test(.live) { client in
        try await body(client.port!, io, handler)
        await io.shutdown()
    }
}

/// One HTTP request on its own connection (a long poll must not hold up the next request).
func http(_ port: Int, _ method: HTTPRequest.Method, _ uri: String, body: String? = nil) async throws -> (status: HTTPResponse.Status, body: String) {
    try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
        let request = TestClient.Request(uri, method: method, authority: "localhost", body: body.map { ByteBuffer(string: $0) })
        let response = try await client.execute(request)
        return (response.status, response.body.map { String(buffer: $0) } ?? "")
    }
}

/// Engine.IO polling as a client does it.
struct PollingClient {
    let port: Int
    let sid: String
    var base: String { "/socket.io/?EIO=4&transport=polling&sid=\(sid)" }

    static func open(_ port: Int, query: String = "") async throws -> PollingClient {
        let (status, body) = try await http(port, .get, "/socket.io/?EIO=4&transport=polling&t=abc\(query)")
        #expect(status == .ok)
        #expect(body.hasPrefix("0{"))
        let members = JSONText.objectMembers(Substring(body.dropFirst())) ?? []
        let sid = members.first { $0.key == "sid" }.flatMap { JSONText.decodeString($0.value) } ?? ""
        #expect(members.map(\.key) == ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"])
        return PollingClient(port: port, sid: sid)
    }

    func post(_ packets: String...) async throws -> (status: HTTPResponse.Status, body: String) {
        try await http(port, .post, base, body: packets.joined(separator: "\u{1e}"))
    }

    /// The packets of one GET (fails on a non-200 answer).
    func get() async throws -> [String] {
        let (status, body) = try await http(port, .get, base)
        #expect(status == .ok, "GET answered \(status) \(body)")
        return body.split(separator: "\u{1e}", omittingEmptySubsequences: false).map(String.init)
    }

    /// GETs until `count` packets arrived (pings are answered and left out).
    func receive(_ count: Int) async throws -> [String] {
        var packets: [String] = []
        while packets.count < count {
            for packet in try await get() {
                if packet == "2" { _ = try await post("3") } else { packets.append(packet) }
            }
        }
        return packets
    }
}

/// Received WebSocket text messages, awaited with a timeout.
final class Mailbox: Sendable {
    private struct State {
        var items: [String] = []
        var finished = false
        var waiter: (id: Int, continuation: CheckedContinuation<String?, Never>)?
        var nextID = 0
    }
    private let state = Mutex(State())

    func put(_ item: String) {
        let waiter = state.withLock { s -> CheckedContinuation<String?, Never>? in
            if let waiter = s.waiter {
                s.waiter = nil
                return waiter.continuation
            }
            s.items.append(item)
            return nil
        }
        waiter?.resume(returning: item)
    }

    func finish() {
        let waiter = state.withLock { s -> CheckedContinuation<String?, Never>? in
            s.finished = true
            defer { s.waiter = nil }
            return s.waiter?.continuation
        }
        waiter?.resume(returning: nil)
    }

    /// The next message, or nil when the connection ended or nothing came within `timeout`.
    func next(timeout: Duration = .seconds(5)) async -> String? {
        await withCheckedContinuation { continuation in
            let (immediate, id) = state.withLock { s -> (String??, Int) in
                if !s.items.isEmpty { return (.some(s.items.removeFirst()), 0) }
                if s.finished { return (.some(nil), 0) }
                s.nextID += 1
                s.waiter = (s.nextID, continuation)
                return (nil, s.nextID)
            }
            if let immediate {
                continuation.resume(returning: immediate)
                return
            }
            Task {
                try? await Task.sleep(for: timeout)
                let expired = self.state.withLock { s -> CheckedContinuation<String?, Never>? in
                    guard let waiter = s.waiter, waiter.id == id else { return nil }
                    s.waiter = nil
                    return waiter.continuation
                }
                expired?.resume(returning: nil)
            }
        }
    }

    /// The next message that is not a ping (pings are answered when `pong` is true).
    func nextNonPing(_ socket: TestWebSocket, pong: Bool = true) async -> String? {
        while let message = await next() {
            if message == "2" {
                if pong { socket.send("3") }
                continue
            }
            return message
        }
        return nil
    }
}

/// A WebSocket client driven from a test: `send` queues a text frame, `inbox` gets what arrives.
final class TestWebSocket: Sendable {
    let inbox = Mailbox()
    let outgoing: AsyncStream<String?>.Continuation
    private let outgoingStream: AsyncStream<String?>

    init() {
        (outgoingStream, outgoing) = AsyncStream.makeStream(of: String?.self)
    }

    func send(_ text: String) { outgoing.yield(text) }

    /// Connects and runs `body`; closes from the client side afterwards unless the server already did.
    static func run(_ port: Int, query: String, _ body: @Sendable (TestWebSocket) async throws -> Void) async throws {
        let socket = TestWebSocket()
        let logger = Logger(label: "ws-test-client")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { socket.inbox.finish() }
                _ = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/socket.io/?\(query)", logger: logger) {
                    inbound, outbound, _ in
                    try await withThrowingTaskGroup(of: Void.self) { inner in
                        inner.addTask {
                            for try await message in inbound.messages(maxSize: 1 << 20) {
                                if case .text(let text) = message { socket.inbox.put(text) }
                            }
                            socket.inbox.finish()
                        }
                        for await text in socket.outgoingStream {
                            guard let text else { break }
                            try await outbound.write(.text(text))
                        }
                        try? await outbound.close(.normalClosure, reason: nil)
                        try await inner.waitForAll()
                    }
                }
            }
            try await body(socket)
            socket.outgoing.yield(nil)
            socket.outgoing.finish()
            try await group.waitForAll()
        }
    }
}
