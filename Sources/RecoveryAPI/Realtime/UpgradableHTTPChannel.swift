import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// HTTP/1.1 with the WebSocket upgrade (Socket.IO's transport), answering a
/// request the HTTP parser cannot read (a head over its limits, garbage) with
/// `400 Bad Request` and closing, as the plain HTTP/1.1 channel does. The
/// upgrade-capable pipeline of hummingbird-websocket leaves such a parser
/// error unhandled and the connection open with no answer.
struct UpgradableHTTPChannel: ServerChildChannel {
    let base: HTTP1WebSocketUpgradeChannel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1WebSocketUpgradeChannel.Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            // The anchor sits just before the HTTP codec (after TLS, if any), so bytes written from it are the raw response.
            let encoder = try operations.handler(type: HTTPResponseEncoder.self)
            let anchor = RawResponseAnchor()
            try operations.addHandler(anchor, position: .before(encoder))
            try operations.addHandler(ParserErrorResponder(anchor: anchor), position: .last)
            return value
        }
    }

    func handle(value: HTTP1WebSocketUpgradeChannel.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }

    static func builder(shouldUpgrade: @escaping @Sendable (HTTPRequest, any Channel, Logger) async throws
                            -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>>) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            UpgradableHTTPChannel(base: HTTP1WebSocketUpgradeChannel(responder: responder, configuration: .init(), shouldUpgrade: shouldUpgrade))
        }
    }
}

/// Passes everything through; its context writes raw bytes under the HTTP codec.
final class RawResponseAnchor: ChannelOutboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias OutboundIn = ByteBuffer
    var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }
}

/// At the end of the pipeline: an HTTP parse error answers 400 and closes.
final class ParserErrorResponder: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = Never
    let anchor: RawResponseAnchor
    private var answered = false

    init(anchor: RawResponseAnchor) { self.anchor = anchor }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError, !answered, let raw = anchor.context else {
            context.fireErrorCaught(error)
            return
        }
        answered = true
        let response = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        raw.writeAndFlush(NIOAny(raw.channel.allocator.buffer(string: response))).whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
