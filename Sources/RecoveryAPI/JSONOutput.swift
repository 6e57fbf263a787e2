import Foundation
import NIOCore

/// A minimal JSON writer for the hottest responses (patient lists and
/// records), where Foundation's JSONEncoder with snake-case key conversion
/// cost more than the database work and decryption together. Keys are
/// written as given (already snake_case); strings are escaped per RFC 8259.
struct JSONOutput {
    private(set) var bytes: [UInt8] = []
    /// Whether the next value or key follows another one at the same level.
    /// One flag is enough: opening a container clears it, closing one and
    /// writing a value set it, and a key clears it for its value.
    private var needsComma = false

    init(capacity: Int = 4_096) {
        bytes.reserveCapacity(capacity)
    }

    mutating func object(_ body: (inout JSONOutput) -> Void) {
        separator()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    mutating func array(_ body: (inout JSONOutput) -> Void) {
        separator()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
        body(&self)
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    mutating func key(_ key: StaticString) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    mutating func field(_ key: StaticString, _ value: String?) {
        self.key(key)
        if let value { string(value) } else { raw("null") }
    }

    mutating func field(_ key: StaticString, _ value: Int?) {
        self.key(key)
        raw(value.map(String.init) ?? "null")
    }

    mutating func field(_ key: StaticString, _ value: Bool) {
        self.key(key)
        raw(value ? "true" : "false")
    }

    /// Copies the string's bytes in runs between the characters that need
    /// escaping (usually none: one copy).
    mutating func string(_ value: String) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var start = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                escape(byte)
                start = index + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func escape(_ byte: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        default:
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
        }
    }

    mutating func raw(_ text: String) {
        separator()
        bytes.append(contentsOf: text.utf8)
    }

    private mutating func separator() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
    }

    func response(status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

import Hummingbird
import HTTPTypes
