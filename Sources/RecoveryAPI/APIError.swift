import HTTPTypes

/// A failure the client is told about: HTTP status plus the envelope of
/// DESIGN.md, `{"error": {"code", "message", "details"}, "request_id"}`.
/// Messages and details name fields and rules, never PHI, secrets or SQL.
public struct APIError: Error, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        public var field: String
        public var issue: String
        public init(field: String, issue: String) {
            self.field = field
            self.issue = issue
        }
    }

    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var details: [Detail]
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, message: String, details: [Detail] = [], headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }

    public static func validation(_ details: [Detail]) -> APIError {
        APIError(.unprocessableContent, code: "validation_failed",
                 message: "The request has invalid fields: " + details.map(\.field).joined(separator: ", "),
                 details: details)
    }

    /// One detail per field, in a stable (alphabetical) order.
    public static func validation(fields problems: [String: String]) -> APIError {
        validation(problems.sorted { $0.key < $1.key }.map { Detail(field: $0.key, issue: $0.value) })
    }

    public static func validation(field: String, _ issue: String) -> APIError {
        validation([Detail(field: field, issue: issue)])
    }

    public static func notFound(_ what: String = "resource") -> APIError {
        APIError(.notFound, code: "not_found", message: "The \(what) was not found.")
    }

    public static let internalError = APIError(.internalServerError, code: "internal_error",
                                               message: "Something went wrong on the server. The request id identifies it in the server log.")
}

/// The JSON envelope every error response carries.
struct ErrorEnvelope: Codable, Sendable {
    struct Body: Codable, Sendable {
        var code: String
        var message: String
        var details: [APIError.Detail]
    }
    var error: Body
    var requestId: String
}
