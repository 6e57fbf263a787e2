import Hummingbird
import NIOCore

/// `GET /api/v1/openapi.json`: the API contract (Sources/RecoveryAPI/openapi.json,
/// compiled into the binary). Tests keep it and the registered routes equal.
struct OpenAPIController {
    static let document: [UInt8] = PackageResources.openapi_json

    var endpoints: [Endpoint] {
        [Endpoint(.get, "/api/v1/openapi.json", public: { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: Self.document)))
        })]
    }
}
