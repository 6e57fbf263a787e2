import Hummingbird

/// `GET /api/v1/asyncapi.json`: the realtime contract (Sources/RecoveryAPI/asyncapi.json,
/// compiled into the binary): every Socket.IO event, its payload and who receives it.
/// Tests keep its event names equal to the code's.
struct AsyncAPIController {
    static let document = Array(EmbeddedDocuments.asyncapi_json.utf8)

    var endpoints: [Endpoint] {
        [OpenAPIController.jsonDocument("/api/v1/asyncapi.json", Self.document)]
    }
}
