/// The error answers of the Engine.IO HTTP transport (HTTP 400 with `{"code":...,"message":...}`), as the spec lists them.
enum EngineError: Int, Error, Sendable {
    case unknownTransport = 0
    case unknownSession = 1
    case badHandshakeMethod = 2
    case badRequest = 3
    case forbidden = 4
    case unsupportedProtocolVersion = 5

    var message: String {
        switch self {
        case .unknownTransport: "Transport unknown"
        case .unknownSession: "Session ID unknown"
        case .badHandshakeMethod: "Bad handshake method"
        case .badRequest: "Bad request"
        case .forbidden: "Forbidden"
        case .unsupportedProtocolVersion: "Unsupported protocol version"
        }
    }

    var json: String { "{\"code\":\(rawValue),\"message\":\(JSONText.quote(message))}" }
}
