import HTTPTypes
import Hummingbird

/// Headers that make browsers treat API responses as data only and keep PHI
/// out of caches: no sniffing, no framing, no referrer, no storing. Over
/// HTTPS, HSTS too: browsers then refuse plain HTTP to this host for a year.
/// A response that states its own Content-Security-Policy and caching (the
/// console's static files: no data in them) keeps them.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    /// Set when the server speaks HTTPS; HSTS over plain HTTP means nothing (RFC 6797 §7.2).
    let https: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'"
        }
        if response.headers[.cacheControl] == nil {
            response.headers[.cacheControl] = "no-store"
        }
        response.headers[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        if https {
            response.headers[HTTPField.Name("Strict-Transport-Security")!] = "max-age=31536000"
        }
        return response
    }
}
