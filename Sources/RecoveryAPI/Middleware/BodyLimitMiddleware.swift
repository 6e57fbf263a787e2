import HTTPTypes
import Hummingbird

/// Refuses a request whose declared Content-Length exceeds
/// `server.max_body_bytes` before reading it. Bodies without a length are
/// capped while being read (`JSONBody.decode`).
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError.bodyTooLarge(limit: limit)
        }
        return try await next(request, context)
    }
}
