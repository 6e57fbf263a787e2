import Foundation
import HTTPTypes
import Hummingbird

/// Gives each request an id: the client's `X-Request-Id` when it is a short
/// token of safe characters, otherwise a new UUID. The id is returned in the
/// response header, in error bodies and in log lines.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let header = HTTPField.Name("X-Request-Id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.requestID = Self.acceptable(request.headers[Self.header]) ?? UUID().uuidString.lowercased()
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        var response = try await next(request, context)
        response.headers[Self.header] = context.requestID
        return response
    }

    static func acceptable(_ value: String?) -> String? {
        guard let value, (8...64).contains(value.count),
              value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { return nil }
        return value
    }
}
