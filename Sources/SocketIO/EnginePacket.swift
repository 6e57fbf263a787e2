/// One Engine.IO v4 packet in its text form: a type digit followed by its data (`4hello`, `2probe`, `6`).
/// Binary packets (`b` + base64 over polling, binary WebSocket frames) are not served by this server.
struct EnginePacket: Equatable, Sendable {
    /// The packet types of Engine.IO v4.
    enum Kind: UInt8, Sendable {
        case open = 0, close, ping, pong, message, upgrade, noop
    }

    var kind: Kind
    var data: String

    init(_ kind: Kind, _ data: String = "") {
        self.kind = kind
        self.data = data
    }

    /// Why a packet could not be read.
    enum DecodingError: Error, Equatable {
        case empty
        case binaryUnsupported
        case unknownType
    }

    init(decoding text: Substring) throws(DecodingError) {
        guard let first = text.utf8.first else { throw .empty }
        if first == UInt8(ascii: "b") { throw .binaryUnsupported }
        guard first >= UInt8(ascii: "0"), let kind = Kind(rawValue: first &- UInt8(ascii: "0")) else { throw .unknownType }
        self.kind = kind
        self.data = String(text.dropFirst())
    }

    var encoded: String { String(kind.rawValue) + data }

    /// The open packet a new session receives first (times in milliseconds).
    static func open(sid: String, upgrades: [String], pingInterval: Duration, pingTimeout: Duration, maxPayload: Int) -> EnginePacket {
        let upgradeList = upgrades.map(JSONText.quote).joined(separator: ",")
        return EnginePacket(
            .open,
            "{\"sid\":\(JSONText.quote(sid)),\"upgrades\":[\(upgradeList)],\"pingInterval\":\(pingInterval.milliseconds),"
                + "\"pingTimeout\":\(pingTimeout.milliseconds),\"maxPayload\":\(maxPayload)}"
        )
    }
}

/// An Engine.IO v4 long-polling payload: packets joined by the record separator `\x1e`.
enum EnginePayload {
    static let separator: Character = "\u{1e}"

    static func decode(_ body: Substring) throws(EnginePacket.DecodingError) -> [EnginePacket] {
        var packets: [EnginePacket] = []
        for part in body.split(separator: separator, omittingEmptySubsequences: false) {
            packets.append(try EnginePacket(decoding: part))
        }
        return packets
    }

    /// Joins packets already in text form.
    static func encode(_ packets: [String]) -> String {
        packets.joined(separator: String(separator))
    }
}

extension Duration {
    /// Whole milliseconds, as Engine.IO states its timers.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Whole nanoseconds, for NIO's `TimeAmount`.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
