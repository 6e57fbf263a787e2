import HTTPTypes
import Hummingbird

/// Refuses a request whose declared Content-Length exceeds
/// `server.max_body_bytes` before reading it. Bodies without a length are
/// capped while being read (`JSONBody.decode`). A document upload has its own
/// limit (`documents.max_bytes`), checked again as it streams.
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limit: Int
    var documentLimit: Int = 0
    var documentUploadLimit: Int = 0

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let upload = documentUploadLimit > 0 && DocumentController.isUpload(request)
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > (upload ? documentUploadLimit : limit) {
            throw APIError.bodyTooLarge(limit: upload ? documentLimit : limit)
        }
        return try await next(request, context)
    }
}
