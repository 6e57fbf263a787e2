import HummingbirdWebSocket
import NIOCore

/// The WebSocket a session talks over once upgraded: the frame writer, and the channel for a hard close
/// (a consumer too slow to take its frames cannot be sent a polite close frame either).
struct WebSocketLink: Sendable {
    let outbound: WebSocketOutboundWriter
    let channel: any Channel

    func isSame(as other: WebSocketLink?) -> Bool {
        other.map { $0.channel === channel } ?? false
    }
}
