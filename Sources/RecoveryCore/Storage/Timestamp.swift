import Foundation

/// RFC 3339 UTC timestamps with milliseconds, as stored in the database and
/// sent over the API (`2026-11-25T16:04:55.123Z`).
public enum Timestamp {
    /// Written digit by digit from the Unix time, to the nearest millisecond
    /// (so a parsed timestamp, held as x.12299..., writes back as x.123):
    /// every audit entry takes one, and Foundation's ISO 8601 format style
    /// cost more than the rest of the entry's fields together.
    public static func string(_ date: Date) -> String {
        // Years 1970 to 9999 digit by digit; anything else (only ever from a
        // client's odd date) through Foundation.
        guard date.timeIntervalSince1970 >= 0, date.timeIntervalSince1970 < 253_402_300_799 else { return date.formatted(style) }
        let (day, time) = Int((date.timeIntervalSince1970 * 1000).rounded()).quotientAndRemainder(dividingBy: 86_400_000)
        return CalendarDate.string(julianDay: day + 2_440_588) + String(unsafeUninitializedCapacity: 14) { out in
            out[0] = UInt8(ascii: "T")
            CalendarDate.putDigits(time / 3_600_000, width: 2, into: out, at: 1)
            out[3] = UInt8(ascii: ":")
            CalendarDate.putDigits(time / 60_000 % 60, width: 2, into: out, at: 4)
            out[6] = UInt8(ascii: ":")
            CalendarDate.putDigits(time / 1_000 % 60, width: 2, into: out, at: 7)
            out[9] = UInt8(ascii: ".")
            CalendarDate.putDigits(time % 1_000, width: 3, into: out, at: 10)
            out[13] = UInt8(ascii: "Z")
            return 14
        }
    }

    /// The stored form as Foundation writes and reads it.
    static let style = Date.ISO8601FormatStyle().year().month().day().dateSeparator(.dash)
        .time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted)

    public static func now() -> String { string(Date()) }

    public static func parse(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: style) {
            return date
        }
        return try? Date(text, strategy: .iso8601)
    }
}

extension Timestamp {
    /// An RFC 3339 date-time from a client, checked field by field first
    /// (the system parser lets an hour of 25 or a minute of 99 through).
    public static func parseStrict(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 40, CalendarDate.isValid(String(decoding: bytes[0..<10], as: UTF8.self)),
              bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            let slice = bytes[range]
            guard slice.allSatisfy({ (48...57).contains($0) }) else { return nil }
            return Int(String(decoding: slice, as: UTF8.self))
        }
        guard let hour = number(11..<13), hour <= 23, let minute = number(14..<16), minute <= 59,
              let second = number(17..<19), second <= 60 else { return nil }
        var rest = bytes[19...]
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst()
            let digits = rest.prefix { (48...57).contains($0) }
            guard !digits.isEmpty, digits.count <= 9 else { return nil }
            rest = rest.dropFirst(digits.count)
        }
        let zone = String(decoding: rest, as: UTF8.self)
        if zone != "Z" && zone != "z" {
            let z = Array(zone.utf8)
            guard z.count == 6, z[0] == UInt8(ascii: "+") || z[0] == UInt8(ascii: "-"), z[3] == UInt8(ascii: ":"),
                  z[1...2].allSatisfy({ (48...57).contains($0) }), z[4...5].allSatisfy({ (48...57).contains($0) }),
                  let h = Int(String(decoding: z[1...2], as: UTF8.self)), h <= 23,
                  let m = Int(String(decoding: z[4...5], as: UTF8.self)), m <= 59 else { return nil }
        }
        return parse(text)
    }
}
