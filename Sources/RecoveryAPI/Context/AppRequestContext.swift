import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core storage plus the
/// request id (set by `RequestIDMiddleware`) and the client's address.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Echoed in `X-Request-Id`, every error body and every log line.
    public var requestID: String = ""
    /// The peer's IP address, for audit entries and rate limits; never logged in plain text.
    public let remoteAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
    }

    /// Hummingbird's own ceiling for `request.decode`; our JSON decoding
    /// applies the configured `server.max_body_bytes` (see `JSONBody`).
    public var maxUploadSize: Int { 100 * 1024 * 1024 }
}
