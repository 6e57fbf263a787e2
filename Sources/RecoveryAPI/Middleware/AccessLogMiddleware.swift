import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// One structured log line per request: method, route template, status,
/// duration, request id. It logs the matched route (`/api/v1/patients/{id}`),
/// never the query string, body, headers or client address, so no PHI or
/// token reaches the log.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, context, status: Int(response.status.code), start: start)
            return response
        } catch {
            log(request, context, status: 500, start: start)
            throw error
        }
    }

    private func log(_ request: Request, _ context: Context, status: Int, start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let milliseconds = Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15
        let route = context.coreContext.endpointPath.value ?? "unmatched"
        context.logger.info("request", metadata: [
            "method": .string(request.method.rawValue),
            "route": .string(route == "NotFound" ? "unmatched" : route),
            "status": .stringConvertible(status),
            "duration_ms": .string(String(format: "%.2f", milliseconds)),
        ])
    }
}

