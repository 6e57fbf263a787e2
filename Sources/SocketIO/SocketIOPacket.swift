/// One Socket.IO v5 packet, carried as the data of an Engine.IO message packet:
/// `<type>[<namespace>,][<ack id>][<JSON>]`, e.g. `0{"token":"x"}`, `21["name",{}]`, `31[...]`, `4{"message":"..."}`.
/// Arguments stay raw JSON text; binary packets (types 5 and 6) are refused.
enum SocketIOPacket: Equatable, Sendable {
    case connect(namespace: String, payload: String?)
    case disconnect(namespace: String)
    case event(namespace: String, ackID: Int?, name: String, arguments: [String])
    case ack(namespace: String, ackID: Int, arguments: [String])
    case connectError(namespace: String, message: String)

    /// The packet type digits of Socket.IO v5.
    enum Kind: UInt8 {
        case connect = 0, disconnect, event, ack, connectError, binaryEvent, binaryAck
    }

    /// Why a packet could not be read (each is a protocol error from the client).
    enum DecodingError: Error, Equatable {
        case unknownType
        case binaryUnsupported
        case badAckID
        case malformedJSON
        case missingPayload
        case badEventName
    }

    static let mainNamespace = "/"

    init(decoding text: String) throws(DecodingError) {
        var rest = Substring(text)
        guard let first = rest.utf8.first, first >= UInt8(ascii: "0"), let kind = Kind(rawValue: first &- UInt8(ascii: "0"))
        else { throw .unknownType }
        rest = rest.dropFirst()
        if kind == .binaryEvent || kind == .binaryAck { throw .binaryUnsupported }

        var namespace = Self.mainNamespace
        if rest.first == "/" {
            if let comma = rest.firstIndex(of: ",") {
                namespace = String(rest[..<comma])
                rest = rest[rest.index(after: comma)...]
            } else {
                namespace = String(rest)
                rest = ""
            }
        }

        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        var ackID: Int?
        if !digits.isEmpty {
            guard digits.count <= 15, let id = Int(digits) else { throw .badAckID }
            ackID = id
            rest = rest.dropFirst(digits.count)
        }

        switch kind {
        case .connect:
            guard ackID == nil else { throw .badAckID }
            if rest.isEmpty {
                self = .connect(namespace: namespace, payload: nil)
            } else {
                guard JSONText.objectMembers(rest) != nil else { throw .malformedJSON }
                self = .connect(namespace: namespace, payload: String(rest))
            }
        case .disconnect:
            guard ackID == nil, rest.isEmpty else { throw .malformedJSON }
            self = .disconnect(namespace: namespace)
        case .event:
            guard !rest.isEmpty else { throw .missingPayload }
            guard let elements = JSONText.arrayElements(rest) else { throw .malformedJSON }
            guard let first = elements.first, let name = JSONText.decodeString(first) else { throw .badEventName }
            self = .event(namespace: namespace, ackID: ackID, name: name, arguments: elements.dropFirst().map(String.init))
        case .ack:
            guard let ackID else { throw .badAckID }
            guard !rest.isEmpty else { throw .missingPayload }
            guard let elements = JSONText.arrayElements(rest) else { throw .malformedJSON }
            self = .ack(namespace: namespace, ackID: ackID, arguments: elements.map(String.init))
        case .connectError:
            guard ackID == nil, let members = JSONText.objectMembers(rest) else { throw .malformedJSON }
            let message = members.first { $0.key == "message" }.flatMap { JSONText.decodeString($0.value) }
            self = .connectError(namespace: namespace, message: message ?? "")
        case .binaryEvent, .binaryAck:
            throw .binaryUnsupported
        }
    }

    var encoded: String {
        switch self {
        case .connect(let namespace, let payload):
            return "0" + Self.prefix(namespace) + (payload ?? "")
        case .disconnect(let namespace):
            return "1" + Self.prefix(namespace)
        case .event(let namespace, let ackID, let name, let arguments):
            return Self.eventText(namespace: namespace, ackID: ackID, name: name, arguments: arguments)
        case .ack(let namespace, let ackID, let arguments):
            return "3" + Self.prefix(namespace) + String(ackID) + "[" + arguments.joined(separator: ",") + "]"
        case .connectError(let namespace, let message):
            return "4" + Self.prefix(namespace) + "{\"message\":" + JSONText.quote(message) + "}"
        }
    }

    /// The text of an EVENT, built in one pass (this is the hot path of a fan-out).
    static func eventText(namespace: String = mainNamespace, ackID: Int? = nil, name: String, arguments: [String]) -> String {
        var text = "2" + prefix(namespace)
        if let ackID { text += String(ackID) }
        text += "[" + JSONText.quote(name)
        for argument in arguments {
            text += ","
            text += argument
        }
        text += "]"
        return text
    }

    /// The namespace as written before the payload: nothing for "/", else the name and a comma.
    private static func prefix(_ namespace: String) -> String {
        namespace == mainNamespace ? "" : namespace + ","
    }
}
