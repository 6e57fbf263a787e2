import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// The Engine.IO WebSocket transport: a direct connection (no sid: the open packet comes first), or the upgrade of a
/// polling session (`2probe` / `3probe`, then `5`), after which everything flows over the WebSocket.
extension SocketIOServer {
    /// For the server's `.http1WebSocketUpgrade(shouldUpgrade:)` closure (also when wrapped in `.tls(...)`):
    /// upgrades requests for `path` (or `path/`) with `EIO=4&transport=websocket` (and, for an upgrade, the `sid` of
    /// a polling session); answers `.dontUpgrade` otherwise (the client then gets HTTP 400).
    /// ```
    /// server: .http1WebSocketUpgrade { request, channel, logger in
    ///     io.webSocketUpgrade(request: request, channel: channel, logger: logger)
    /// }
    /// ```
    public func webSocketUpgrade<Context: WebSocketContext>(
        request: HTTPRequest,
        channel: any Channel,
        logger: Logger
    ) -> ShouldUpgradeResult<WebSocketDataHandler<Context>> {
        let uri = URI(request.path ?? "")
        let path = configuration.path.hasSuffix("/") ? String(configuration.path.dropLast()) : configuration.path
        guard uri.path == path || uri.path == path + "/" else { return .dontUpgrade }
        let query = Self.queryItems(uri)
        guard Self.handshakeError(query, transport: "websocket") == nil else { return .dontUpgrade }
        let sid = query["sid"]
        if let sid {
            guard let session = session(sid), session.acceptsPolling else { return .dontUpgrade }
        } else if isShutDown {
            return .dontUpgrade
        }
        let remoteAddress = channel.remoteAddress?.ipAddress
        return .upgrade([:]) { inbound, outbound, _ in
            await self.serveWebSocket(
                link: WebSocketLink(outbound: outbound, channel: channel),
                inbound: inbound,
                sid: sid,
                remoteAddress: remoteAddress,
                query: query
            )
        }
    }

    private func serveWebSocket(
        link: WebSocketLink,
        inbound: WebSocketInboundStream,
        sid: String?,
        remoteAddress: String?,
        query: [String: String]
    ) async {
        let session: EngineSession
        var upgraded: Bool
        if let sid {
            guard let existing = self.session(sid) else { return }
            session = existing
            upgraded = false
        } else {
            session = EngineSession(server: self, transport: .webSocket(link), remoteAddress: remoteAddress, query: query)
            guard register(session) else { return }
            session.startDirectWebSocket(link)
            upgraded = true
        }
        var probed = false
        var ending = SocketIODisconnectReason.transportClose
        do {
            for try await message in inbound.messages(maxSize: configuration.maxPayloadBytes) {
                guard case .text(let text) = message, let packet = try? EnginePacket(decoding: Substring(text)) else {
                    if upgraded { session.protocolError("binary or malformed WebSocket message") }
                    break
                }
                if upgraded {
                    guard session.receive(packet) else { break }
                } else if !probed, packet.kind == .ping, packet.data == "probe" {
                    guard session.beginProbe(link) else { break }
                    try await link.outbound.write(.text(EnginePacket(.pong, "probe").encoded))
                    probed = true
                } else if probed, packet.kind == .upgrade {
                    guard session.completeUpgrade(link) else { break }
                    upgraded = true
                } else {
                    break  // not the upgrade dance: drop this WebSocket, the polling session carries on
                }
            }
        } catch {
            logger.debug("Socket.IO WebSocket ended", metadata: ["error_type": "\(type(of: error))"])
            ending = .transportError
        }
        if upgraded {
            session.transportEnded(link, reason: ending)
        } else {
            session.abandonProbe(link)
        }
    }
}
