/// Just enough JSON for Socket.IO: validates a value, splits an array or object into the raw text of its members, and
/// reads or writes a string. Arguments travel as raw JSON text, so nothing is decoded into a model here.
enum JSONText {
    /// Nesting deeper than this is refused (a hostile payload must not exhaust the stack).
    static let maxDepth = 64

    /// Whether `text` is exactly one JSON value (surrounding whitespace allowed).
    static func isValid(_ text: Substring) -> Bool {
        var scanner = Scanner(text)
        scanner.skipWhitespace()
        guard scanner.skipValue(depth: 0) else { return false }
        scanner.skipWhitespace()
        return scanner.atEnd
    }

    /// The raw text of each element of a JSON array, or nil when `text` is not exactly one valid array.
    static func arrayElements(_ text: Substring) -> [Substring]? {
        var scanner = Scanner(text)
        scanner.skipWhitespace()
        guard scanner.consume(UInt8(ascii: "[")) else { return nil }
        var elements: [Substring] = []
        scanner.skipWhitespace()
        if !scanner.consume(UInt8(ascii: "]")) {
            while true {
                scanner.skipWhitespace()
                let start = scanner.index
                guard scanner.skipValue(depth: 1) else { return nil }
                elements.append(scanner.text(from: start))
                scanner.skipWhitespace()
                if scanner.consume(UInt8(ascii: ",")) { continue }
                guard scanner.consume(UInt8(ascii: "]")) else { return nil }
                break
            }
        }
        scanner.skipWhitespace()
        return scanner.atEnd ? elements : nil
    }

    /// The members of a JSON object (decoded key, raw value text), or nil when `text` is not exactly one valid object.
    static func objectMembers(_ text: Substring) -> [(key: String, value: Substring)]? {
        var scanner = Scanner(text)
        scanner.skipWhitespace()
        guard scanner.consume(UInt8(ascii: "{")) else { return nil }
        var members: [(key: String, value: Substring)] = []
        scanner.skipWhitespace()
        if !scanner.consume(UInt8(ascii: "}")) {
            while true {
                scanner.skipWhitespace()
                let keyStart = scanner.index
                guard scanner.skipString(), let key = decodeString(scanner.text(from: keyStart)) else { return nil }
                scanner.skipWhitespace()
                guard scanner.consume(UInt8(ascii: ":")) else { return nil }
                scanner.skipWhitespace()
                let start = scanner.index
                guard scanner.skipValue(depth: 1) else { return nil }
                members.append((key, scanner.text(from: start)))
                scanner.skipWhitespace()
                if scanner.consume(UInt8(ascii: ",")) { continue }
                guard scanner.consume(UInt8(ascii: "}")) else { return nil }
                break
            }
        }
        scanner.skipWhitespace()
        return scanner.atEnd ? members : nil
    }

    /// The value of a JSON string literal (with its quotes), or nil when `text` is not exactly one valid string.
    static func decodeString(_ text: Substring) -> String? {
        var scanner = Scanner(text)
        guard scanner.skipString(), scanner.atEnd else { return nil }
        let bytes = Array(text.utf8.dropFirst().dropLast())
        guard bytes.contains(UInt8(ascii: "\\")) else { return String(decoding: bytes, as: UTF8.self) }
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        func flush() {
            scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
            utf8.removeAll(keepingCapacity: true)
        }
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            guard byte == UInt8(ascii: "\\") else { utf8.append(byte); i += 1; continue }
            flush()
            let escape = bytes[i + 1]
            i += 2
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            default:  // "u", checked by skipString
                var code = hex4(bytes, i)
                i += 4
                if (0xD800..<0xDC00).contains(code), i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"),
                    bytes[i + 1] == UInt8(ascii: "u"), case let low = hex4(bytes, i + 2), (0xDC00..<0xE000).contains(low)
                {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            }
        }
        flush()
        return String(scalars)
    }

    /// `string` as a JSON string literal.
    static func quote(_ string: String) -> String {
        var out = "\""
        out.reserveCapacity(string.utf8.count + 2)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
        return out
    }

    private static func hex4(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        var value: UInt32 = 0
        for byte in bytes[at..<at + 4] { value = value << 4 | UInt32(hexValue(byte) ?? 0) }
        return value
    }

    fileprivate static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// A cursor over the UTF-8 of a substring that skips whole JSON values, checking their grammar (RFC 8259).
    private struct Scanner {
        let base: Substring
        let bytes: Substring.UTF8View
        var index: Substring.UTF8View.Index

        init(_ text: Substring) {
            self.base = text
            self.bytes = text.utf8
            self.index = text.utf8.startIndex
        }

        var atEnd: Bool { index == bytes.endIndex }
        var peek: UInt8? { atEnd ? nil : bytes[index] }

        func text(from start: Substring.UTF8View.Index) -> Substring { base[start..<index] }

        mutating func advance() { index = bytes.index(after: index) }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            advance()
            return true
        }

        mutating func consume(literal: StaticString) -> Bool {
            var probe = self
            for byte in UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount) {
                guard probe.consume(byte) else { return false }
            }
            self = probe
            return true
        }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { advance() }
        }

        mutating func skipValue(depth: Int) -> Bool {
            guard depth <= JSONText.maxDepth, let byte = peek else { return false }
            switch byte {
            case UInt8(ascii: "\""): return skipString()
            case UInt8(ascii: "{"): return skipContainer(close: UInt8(ascii: "}"), keyed: true, depth: depth)
            case UInt8(ascii: "["): return skipContainer(close: UInt8(ascii: "]"), keyed: false, depth: depth)
            case UInt8(ascii: "t"): return consume(literal: "true")
            case UInt8(ascii: "f"): return consume(literal: "false")
            case UInt8(ascii: "n"): return consume(literal: "null")
            default: return skipNumber()
            }
        }

        mutating func skipContainer(close: UInt8, keyed: Bool, depth: Int) -> Bool {
            advance()
            skipWhitespace()
            if consume(close) { return true }
            while true {
                skipWhitespace()
                if keyed {
                    guard skipString() else { return false }
                    skipWhitespace()
                    guard consume(UInt8(ascii: ":")) else { return false }
                    skipWhitespace()
                }
                guard skipValue(depth: depth + 1) else { return false }
                skipWhitespace()
                if consume(UInt8(ascii: ",")) { continue }
                return consume(close)
            }
        }

        mutating func skipString() -> Bool {
            guard consume(UInt8(ascii: "\"")) else { return false }
            while let byte = peek {
                advance()
                switch byte {
                case UInt8(ascii: "\""): return true
                case UInt8(ascii: "\\"):
                    guard let escape = peek else { return false }
                    advance()
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                        UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        continue
                    case UInt8(ascii: "u"):
                        for _ in 0..<4 {
                            guard let digit = peek, JSONText.hexValue(digit) != nil else { return false }
                            advance()
                        }
                    default: return false
                    }
                case 0..<0x20: return false
                default: continue
                }
            }
            return false
        }

        mutating func skipNumber() -> Bool {
            _ = consume(UInt8(ascii: "-"))
            if consume(UInt8(ascii: "0")) {
            } else {
                guard skipDigits() else { return false }
            }
            if consume(UInt8(ascii: ".")) { guard skipDigits() else { return false } }
            if consume(UInt8(ascii: "e")) || consume(UInt8(ascii: "E")) {
                if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
                guard skipDigits() else { return false }
            }
            return true
        }

        mutating func skipDigits() -> Bool {
            var any = false
            while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                advance()
                any = true
            }
            return any
        }
    }
}
