import Hummingbird
import HummingbirdCore
import NIOCore

/// The Engine.IO long-polling transport: GET opens a session (no sid) or waits for its packets; POST delivers the
/// client's packets. Both answer HTTP 400 with the spec's JSON error when the request does not fit a session.
extension SocketIOServer {
    /// Adds the long-polling transport (GET and POST at `path` and `path/`) to an application's router.
    public func addPollingRoutes<Context: RequestContext>(to router: Router<Context>) {
        let get: @Sendable (Request, Context) async throws -> Response = { request, context in
            await self.pollingGet(request, remoteAddress: Self.remoteAddress(of: context))
        }
        let post: @Sendable (Request, Context) async throws -> Response = { request, _ in
            await self.pollingPost(request)
        }
        // Hummingbird's router matches `path` and `path/` with one route.
        router.get(RouterPath(configuration.path), use: get)
        router.post(RouterPath(configuration.path), use: post)
    }

    private static func remoteAddress<Context: RequestContext>(of context: Context) -> String? {
        (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress
    }

    static func queryItems(_ uri: URI) -> [String: String] {
        var items: [String: String] = [:]
        for (key, value) in uri.queryParameters where items[String(key)] == nil { items[String(key)] = String(value) }
        return items
    }

    /// Checks the handshake's `EIO` and `transport`; nil when they fit.
    static func handshakeError(_ query: [String: String], transport: String) -> EngineError? {
        guard query["EIO"] == "4" else { return .unsupportedProtocolVersion }
        guard query["transport"] == transport else { return .unknownTransport }
        return nil
    }

    func pollingGet(_ request: Request, remoteAddress: String?) async -> Response {
        let query = Self.queryItems(request.uri)
        if let error = Self.handshakeError(query, transport: "polling") { return Self.errorResponse(error) }
        guard let sid = query["sid"] else {
            let session = EngineSession(server: self, transport: .polling, remoteAddress: remoteAddress, query: query)
            guard register(session) else { return Self.errorResponse(.forbidden) }
            return Self.textResponse(session.openPacket)
        }
        guard let session = session(sid) else { return Self.errorResponse(.unknownSession) }
        switch await session.poll() {
        case .packets(let packets): return Self.textResponse(EnginePayload.encode(packets))
        case .refused(let error): return Self.errorResponse(error)
        }
    }

    func pollingPost(_ request: Request) async -> Response {
        let query = Self.queryItems(request.uri)
        if let error = Self.handshakeError(query, transport: "polling") { return Self.errorResponse(error) }
        guard let sid = query["sid"] else { return Self.errorResponse(.badHandshakeMethod) }
        guard let session = session(sid) else { return Self.errorResponse(.unknownSession) }
        guard session.acceptsPolling else { return Self.errorResponse(.badRequest) }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: configuration.maxPayloadBytes)
        } catch {
            session.protocolError("POST body over maxPayload or unreadable")
            return Response(status: .contentTooLarge)
        }
        let packets: [EnginePacket]
        do {
            packets = try EnginePayload.decode(Substring(String(buffer: body)))
        } catch {
            session.protocolError("bad polling payload: \(type(of: error))")
            return Self.errorResponse(.badRequest)
        }
        for packet in packets {
            guard session.receive(packet) else { return Self.errorResponse(.badRequest) }
        }
        return Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "ok")))
    }

    static func textResponse(_ text: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; charset=UTF-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }

    static func errorResponse(_ error: EngineError) -> Response {
        Response(
            status: error == .forbidden ? .forbidden : .badRequest,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: error.json))
        )
    }
}
