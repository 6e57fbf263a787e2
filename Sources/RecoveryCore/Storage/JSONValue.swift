/// A parsed JSON value that keeps booleans, integers and other numbers
/// apart (JSONSerialization on Linux does not), for strict config reading.
public enum JSONValue: Decodable, Equatable, Sendable {
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int.self) { self = .integer(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }
}

extension JSONValue {
    /// The value as the JSON text a client sent, for hashing and storage of
    /// replies (keys sorted so equal values give equal text).
    public var canonicalText: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        // a whole number as the parser reads it back (5.0 is the integer 5), so text → value → text is stable
        case .number(let value): return Int(exactly: value).map(String.init) ?? String(value)
        case .string(let value): return AuditLog.quoted(value)
        case .array(let values): return "[" + values.map(\.canonicalText).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.sorted { $0.key < $1.key }.map { AuditLog.quoted($0.key) + ":" + $0.value.canonicalText }.joined(separator: ",") + "}"
        }
    }
}

extension JSONValue {
    /// A member of an object (nil for other values or a missing key).
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }
}
