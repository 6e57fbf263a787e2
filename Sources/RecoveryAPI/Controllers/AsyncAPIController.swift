import Hummingbird

/// `GET /api/v1/asyncapi.json`: the realtime contract (Sources/RecoveryAPI/asyncapi.json,
/// compiled into the binary): every Socket.IO event, its payload and who receives it.
/// Tests keep its event names equal to the code's.
struct AsyncAPIController {
    static let document: [UInt8] = PackageResources.asyncapi_json

    var endpoints: [Endpoint] {
        [OpenAPIController.jsonDocument("/api/v1/asyncapi.json", Self.document)]
    }
}
