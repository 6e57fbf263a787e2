/// A strict, fast JSON parser into `JSONValue` (RFC 8259), for request bodies
/// on hot paths: one pass over the bytes, integers kept apart from other
/// numbers, nesting bounded so a hostile body cannot exhaust the stack, and
/// a key repeated in one object refused (parsers disagree on which copy
/// counts, so a body could mean one thing to a check and another to a store).
public enum JSONParser {
    public struct Failure: Error, Equatable, Sendable {
        public var offset: Int
        /// The key an object repeats, when that is the failure (as decoded,
        /// so `"a"` and `"\u0061"` are the same key).
        public var duplicateKey: String? = nil
        /// Where that object is, e.g. `items[0].data` (empty: the top level).
        public var path: String = ""

        /// The repeated key's full name, e.g. `items[0].data.note`.
        public var duplicateField: String? {
            duplicateKey.map { path.isEmpty ? $0 : path + "." + $0 }
        }

        /// The same failure seen from one level up, inside `component`
        /// (a key, or `[index]`).
        func inside(_ component: String) -> Failure {
            guard duplicateKey != nil else { return self }
            var outer = self
            outer.path = path.isEmpty || path.hasPrefix("[") ? component + path : component + "." + path
            return outer
        }
    }

    public static let maxDepth = 64

    public static func parse(_ bytes: some Collection<UInt8>) throws -> JSONValue {
        let array = Array(bytes)
        return try array.withUnsafeBufferPointer { buffer in
            var parser = Parser(bytes: buffer)
            parser.skipSpace()
            let value = try parser.value(depth: 0)
            parser.skipSpace()
            guard parser.index == buffer.count else { throw Failure(offset: parser.index) }
            return value
        }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        func fail() -> Failure { Failure(offset: index) }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth <= JSONParser.maxDepth, let byte = current else { throw fail() }
            switch byte {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            default: return try number()
            }
        }

        mutating func literal(_ word: StaticString) throws {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw fail() }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw fail() }
            index += count
        }

        mutating func object(depth: Int) throws -> JSONValue {
            index += 1
            var members: [String: JSONValue] = [:]
            skipSpace()
            if current == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                skipSpace()
                guard current == UInt8(ascii: "\"") else { throw fail() }
                let key = try string()
                skipSpace()
                guard current == UInt8(ascii: ":") else { throw fail() }
                index += 1
                skipSpace()
                let keyOffset = index
                let member: JSONValue
                do {
                    member = try value(depth: depth)
                } catch let failure as Failure {
                    throw failure.inside(key)
                }
                guard members.updateValue(member, forKey: key) == nil else {
                    throw Failure(offset: keyOffset, duplicateKey: key)
                }
                skipSpace()
                switch current {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"): index += 1; return .object(members)
                default: throw fail()
                }
            }
        }

        mutating func array(depth: Int) throws -> JSONValue {
            index += 1
            var elements: [JSONValue] = []
            skipSpace()
            if current == UInt8(ascii: "]") { index += 1; return .array(elements) }
            while true {
                skipSpace()
                do {
                    elements.append(try value(depth: depth))
                } catch let failure as Failure {
                    throw failure.inside("[\(elements.count)]")
                }
                skipSpace()
                switch current {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"): index += 1; return .array(elements)
                default: throw fail()
                }
            }
        }

        mutating func string() throws -> String {
            index += 1
            let start = index
            // Fast path: no escapes.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self) else { throw fail() }
                    index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { throw fail() }
                index += 1
            }
            var scalars: [UInt8] = Array(bytes[start..<index])
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    guard let text = String(validating: scalars, as: UTF8.self) else { throw fail() }
                    return text
                case UInt8(ascii: "\\"):
                    index += 1
                    guard let escape = current else { throw fail() }
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(escape)
                    case UInt8(ascii: "b"): scalars.append(0x08)
                    case UInt8(ascii: "f"): scalars.append(0x0C)
                    case UInt8(ascii: "n"): scalars.append(0x0A)
                    case UInt8(ascii: "r"): scalars.append(0x0D)
                    case UInt8(ascii: "t"): scalars.append(0x09)
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800...0xDBFF).contains(code) {
                            guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else { throw fail() }
                            index += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw fail() }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(code) {
                            throw fail()
                        }
                        guard let scalar = Unicode.Scalar(code) else { throw fail() }
                        scalars.append(contentsOf: String(Character(scalar)).utf8)
                    default: throw fail()
                    }
                default:
                    if byte < 0x20 { throw fail() }
                    scalars.append(byte)
                    index += 1
                }
            }
            throw fail()
        }

        mutating func hex4() throws -> UInt32 {
            guard index + 4 <= bytes.count else { throw fail() }
            var code: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw fail()
                }
                code = code << 4 | digit
                index += 1
            }
            return code
        }

        mutating func number() throws -> JSONValue {
            let start = index
            func digits() -> Int {
                let from = index
                while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
                return index - from
            }
            if current == UInt8(ascii: "-") { index += 1 }
            guard let first = current, (0x30...0x39).contains(first) else { throw fail() }
            if first == 0x30 { index += 1 } else { _ = digits() }
            var integral = true
            if current == UInt8(ascii: ".") {
                integral = false
                index += 1
                guard digits() > 0 else { throw fail() }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                integral = false
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw fail() }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if integral, let whole = Int(text) { return .integer(whole) }
            guard let number = Double(text), number.isFinite else { throw fail() }
            // Like JSONDecoder: 5.0 is also the whole number 5.
            if let whole = Int(exactly: number) { return .integer(whole) }
            return .number(number)
        }
    }
}
