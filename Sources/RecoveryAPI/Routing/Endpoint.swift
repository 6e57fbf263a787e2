import HTTPTypes
import Hummingbird

/// Who may call an endpoint. Every endpoint declares one; there is no default.
public enum Access: Sendable, Equatable {
    /// Anyone, without a token (health, the OpenAPI document, login).
    case `public`
}

/// One route, declared as data: method, path template in OpenAPI form
/// (`/api/v1/patients/{id}`), the access it requires, and its handler.
/// Declaring routes this way lets tests compare the running routes with the
/// OpenAPI document and check that none lacks an access rule.
public struct Endpoint: Sendable {
    public typealias Handler = @Sendable (Request, AppRequestContext) async throws -> Response

    public let method: HTTPRequest.Method
    public let path: String
    public let access: Access
    public let handler: Handler

    public init(_ method: HTTPRequest.Method, _ path: String, access: Access, handler: @escaping Handler) {
        self.method = method
        self.path = path
        self.access = access
        self.handler = handler
    }

    /// The path in Hummingbird's router syntax: `{id}` becomes `:id`.
    var routerPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : segment
        }.joined(separator: "/")
    }
}

/// Every endpoint the server answers, for 405 answers and contract tests.
public struct RouteCatalog: Sendable {
    public let endpoints: [Endpoint]

    public init(_ endpoints: [Endpoint]) {
        self.endpoints = endpoints
    }

    /// Methods registered for a concrete request path, e.g. for `Allow`.
    public func methods(matching path: String) -> [HTTPRequest.Method] {
        let segments = Self.segments(path)
        return endpoints.filter { endpoint in
            let template = Self.segments(endpoint.path)
            guard template.count == segments.count else { return false }
            return zip(template, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }.map(\.method)
    }

    static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/")
    }
}
