import Hummingbird
import NIOCore

/// `GET /api/v1/asyncapi.json`: the realtime contract (Sources/RecoveryAPI/asyncapi.json,
/// compiled into the binary): every Socket.IO event, its payload and who receives it.
/// Tests keep its event names equal to the code's.
struct AsyncAPIController {
    static let document: [UInt8] = PackageResources.asyncapi_json

    var endpoints: [Endpoint] {
        [Endpoint(.get, "/api/v1/asyncapi.json", public: { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: Self.document)))
        })]
    }
}
