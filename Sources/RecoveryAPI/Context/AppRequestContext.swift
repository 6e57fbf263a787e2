import Hummingbird
import NIOCore
import RecoveryCore

/// The request context of every route: Hummingbird's core storage plus the
/// request id (set by `RequestIDMiddleware`) and the client's address.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Echoed in `X-Request-Id`, every error body and every log line.
    public var requestID: String = ""
    /// The connection's other end: the client, or a proxy in front of it.
    public let peerAddress: IPAddress?
    /// The client's IP address, for audit entries, sessions and rate limits;
    /// never logged in plain text. Set by `ClientAddressMiddleware`.
    public var clientAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress.flatMap { IPAddress($0) }
        self.clientAddress = peerAddress?.description
    }

    /// Hummingbird's own ceiling for `request.decode`; our JSON decoding
    /// applies the configured `server.max_body_bytes` (see `JSONBody`).
    public var maxUploadSize: Int { 100 * 1024 * 1024 }
}
