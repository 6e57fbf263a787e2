import HTTPTypes
import Hummingbird
import RecoveryCore

/// Sets `clientAddress`, the one address audit entries, sessions and the
/// login throttle use: the peer's, or the client's named in `X-Forwarded-For`
/// when the peer is one of `server.trusted_proxies` (see `TrustedProxies`).
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    let proxies: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let forwarded = proxies.networks.isEmpty ? [] : request.headers[values: Self.forwardedFor]
        context.clientAddress = proxies.clientAddress(peer: context.peerAddress, forwardedFor: forwarded)?.description
        return try await next(request, context)
    }
}
