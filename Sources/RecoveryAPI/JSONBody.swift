import Foundation
import HTTPTypes
import Hummingbird
import RecoveryCore

/// JSON in and out: snake_case on the wire, camelCase in Swift.
public enum JSONBody {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()

    /// A JSON response with the given status.
    public static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        let data = try encoder.encode(value)
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The whole body, at most `limit` bytes (413 beyond), if it is JSON by
    /// its content type (415 otherwise), parsed by the project's one-pass
    /// parser (400 `invalid_json` when it is not JSON or an object repeats a
    /// key, naming the key; nesting bounded).
    static func parsedBody(of request: Request, limit: Int) async throws -> (bytes: ByteBuffer, value: JSONValue) {
        if let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/json") {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type",
                           message: "Send the body as application/json.")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw APIError.bodyTooLarge(limit: limit)
        }
        do {
            return (buffer, try JSONParser.parse(buffer.readableBytesView))
        } catch let failure as JSONParser.Failure {
            if let field = failure.duplicateField.map({ String($0.prefix(200)) }) {
                throw APIError(.badRequest, code: "invalid_json", message: "The request body repeats the key \(field) in one object.",
                               details: [.init(field: field, issue: "appears more than once")])
            }
            throw APIError(.badRequest, code: "invalid_json", message: "The request body is not valid JSON.")
        }
    }

    /// Reads the whole body as a JSON object (hot paths: the patient app's writes).
    public static func object(from request: Request, limit: Int) async throws -> [String: JSONValue] {
        guard case .object(let members) = try await parsedBody(of: request, limit: limit).value else {
            throw APIError.validation(field: "body", "must be a JSON object")
        }
        return members
    }

    /// Reads the whole body (at most `limit` bytes) and decodes it. Malformed
    /// JSON answers 400 `invalid_json`; a missing or wrongly typed field 422
    /// naming the field; a body over the limit 413.
    public static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        let data = Data(buffer: try await parsedBody(of: request, limit: limit).bytes)
        do {
            return try decoder.decode(T.self, from: data)
        } catch let error as DecodingError {
            throw APIError.validation([fieldIssue(error)])
        }
    }

    static func fieldIssue(_ error: DecodingError) -> APIError.Detail {
        func name(_ path: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            let keys = path + (last.map { [$0] } ?? [])
            let text = keys.map { key -> String in
                if let index = key.intValue { return "[\(index)]" }
                return "." + snakeCase(key.stringValue)
            }.joined()
            let trimmed = text.hasPrefix(".") ? String(text.dropFirst()) : text
            return trimmed.isEmpty ? "body" : trimmed
        }
        switch error {
        case .keyNotFound(let key, let context):
            return .init(field: name(context.codingPath, key), issue: "is required")
        case .typeMismatch(let type, let context):
            return .init(field: name(context.codingPath), issue: "must be \(describe(type))")
        case .valueNotFound(let type, let context):
            return .init(field: name(context.codingPath), issue: "must be \(describe(type)), not null")
        case .dataCorrupted(let context):
            return .init(field: name(context.codingPath), issue: "has an invalid value")
        @unknown default:
            return .init(field: "body", issue: "is invalid")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is Bool.Type: return "true or false"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object"
        }
    }

    static func snakeCase(_ key: String) -> String {
        var out = ""
        for character in key {
            if character.isUppercase {
                out += "_" + character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }
}

extension APIError {
    static func bodyTooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "body_too_large",
                 message: "The request body is larger than the limit of \(limit) bytes.")
    }
}
