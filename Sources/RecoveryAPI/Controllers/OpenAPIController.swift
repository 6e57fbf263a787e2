import Hummingbird
import NIOCore

/// `GET /api/v1/openapi.json`: the API contract (Sources/RecoveryAPI/openapi.json,
/// compiled into the binary). Tests keep it and the registered routes equal.
struct OpenAPIController {
    static let document = Array(EmbeddedDocuments.openapi_json.utf8)

    var endpoints: [Endpoint] {
        [Self.jsonDocument("/api/v1/openapi.json", Self.document)]
    }

    /// A public endpoint answering a JSON document compiled into the binary.
    static func jsonDocument(_ path: String, _ bytes: [UInt8]) -> Endpoint {
        Endpoint(.get, path, public: { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        })
    }
}
