import HTTPTypes
import Hummingbird

/// CORS for the browser-based clients on the clinic's LAN: only the origins
/// listed in `server.cors_origins` get CORS headers; preflights from other
/// origins are refused. Tokens travel in the Authorization header, never in
/// cookies, so credentials are not allowed.
struct AllowedOriginsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let origins: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else {
            return try await next(request, context)
        }
        let allowed = origins.contains(origin)
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            guard allowed else {
                // Rendered here: this middleware sits outside ErrorMiddleware so
                // that error responses get CORS headers too.
                return try ErrorMiddleware.render(
                    APIError(.forbidden, code: "origin_not_allowed", message: "This origin is not in server.cors_origins."),
                    requestID: context.requestID)
            }
            var headers = HTTPFields()
            headers[.accessControlAllowOrigin] = origin
            headers[.accessControlAllowMethods] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
            headers[.accessControlAllowHeaders] = "Authorization, Content-Type, X-Request-Id, Idempotency-Key"
            headers[.accessControlMaxAge] = "600"
            headers[.vary] = "Origin"
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        if allowed {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlExposeHeaders] = "X-Request-Id, Retry-After"
            response.headers[.vary] = "Origin"
        }
        return response
    }
}
