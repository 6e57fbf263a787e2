import Foundation
import RecoveryCore

/// A streaming multipart/form-data parser (RFC 7578): bytes go in as they
/// arrive, events come out, and it never holds more than a part's headers or
/// one delimiter's length of body beyond what it has handed on.
struct MultipartStream {
    enum Event {
        case part(name: String, filename: String?)
        case data([UInt8])
        case partEnd
    }

    enum State { case preamble, headers, body, afterDelimiter, done }

    static let maxHeaderBytes = 8_192
    static let maxPreambleBytes = 8_192

    let delimiter: [UInt8]          // CRLF "--" boundary
    private(set) var state = State.preamble
    var buffer: [UInt8]
    var preambleSeen = 0

    /// The boundary of a `multipart/form-data; boundary=...` content type, nil for any other type.
    static func boundary(contentType: String) -> String? {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.first?.lowercased() == "multipart/form-data" else { return nil }
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            var value = pair[1]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            guard (1...70).contains(value.utf8.count) else { return nil }
            return value
        }
        return nil
    }

    init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        // The first delimiter may start the body without the line break before it.
        buffer = [13, 10]
    }

    var isDone: Bool { state == .done }

    mutating func feed(_ bytes: some Collection<UInt8>) throws -> [Event] {
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        while true {
            switch state {
            case .done:
                buffer.removeAll()
                return events
            case .preamble:
                if let at = Self.find(delimiter, in: buffer) {
                    buffer.removeFirst(at + delimiter.count)
                    state = .afterDelimiter
                } else {
                    let keep = min(buffer.count, delimiter.count - 1)
                    preambleSeen += buffer.count - keep
                    if preambleSeen > Self.maxPreambleBytes { throw DocumentFailure.malformed("no multipart boundary") }
                    buffer.removeFirst(buffer.count - keep)
                    return events
                }
            case .afterDelimiter:
                guard buffer.count >= 2 else { return events }
                if buffer[0] == 45, buffer[1] == 45 { state = .done; continue }                    // "--": the last part ended
                guard buffer[0] == 13, buffer[1] == 10 else { throw DocumentFailure.malformed("bad multipart delimiter") }
                buffer.removeFirst(2)
                state = .headers
            case .headers:
                guard let end = Self.find([13, 10, 13, 10], in: buffer) else {
                    if buffer.count > Self.maxHeaderBytes { throw DocumentFailure.malformed("part headers too long") }
                    return events
                }
                let text = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                events.append(try Self.part(headers: text))
                state = .body
            case .body:
                if let at = Self.find(delimiter, in: buffer) {
                    if at > 0 { events.append(.data(Array(buffer[..<at]))) }
                    events.append(.partEnd)
                    buffer.removeFirst(at + delimiter.count)
                    state = .afterDelimiter
                } else {
                    let keep = min(buffer.count, delimiter.count - 1)
                    if buffer.count > keep {
                        events.append(.data(Array(buffer[..<(buffer.count - keep)])))
                        buffer.removeFirst(buffer.count - keep)
                    }
                    return events
                }
            }
        }
    }

    static func part(headers text: String) throws -> Event {
        for line in text.components(separatedBy: "\r\n") {
            let pair = line.split(separator: ":", maxSplits: 1).map(String.init)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "content-disposition" else { continue }
            var name: String?
            var filename: String?
            for parameter in pair[1].split(separator: ";").dropFirst() {
                let kv = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard kv.count == 2 else { continue }
                var value = kv[1]
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                switch kv[0].lowercased() {
                case "name": name = value
                case "filename": filename = value
                default: break
                }
            }
            guard let name else { throw DocumentFailure.malformed("a part has no name") }
            return .part(name: name, filename: filename)
        }
        throw DocumentFailure.malformed("a part has no Content-Disposition")
    }

    /// The first index of `needle` in `haystack`.
    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        return haystack.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { pin in
                var index = 0
                let last = hay.count - pin.count
                while index <= last {
                    guard let hit = UnsafeBufferPointer(rebasing: hay[index...last]).firstIndex(of: first) else { return nil }
                    let at = index + hit
                    if memcmp(hay.baseAddress! + at, pin.baseAddress!, pin.count) == 0 { return at }
                    index = at + 1
                }
                return nil
            }
        }
    }
}
