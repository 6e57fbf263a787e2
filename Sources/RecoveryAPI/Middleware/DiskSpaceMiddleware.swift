import Hummingbird
import RecoveryCore

/// Refuses API requests that write (POST, PUT, PATCH, DELETE) with 507 while the
/// data directory's disk is below `storage.min_free_bytes`, before anything
/// is stored, so SQLite never fails half-way through a write for want of
/// space. Reads go on.
struct DiskSpaceMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let diskSpace: DiskSpace

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if [.post, .put, .patch, .delete].contains(request.method), request.uri.path.hasPrefix("/api/") {
            try diskSpace.requireRoomForWrites()
        }
        return try await next(request, context)
    }
}
