import Foundation

/// Calendar dates as `YYYY-MM-DD` strings (the storage and API form).
public enum CalendarDate {
    /// True for a real Gregorian date in exactly that form (no 2025-02-30).
    public static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 10, text.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || $0 == 45 }),
              parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1...12).contains(month), day >= 1 else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return day <= days
    }
}

extension CalendarDate {
    /// Today's date in an IANA time zone (UTC when unknown).
    public static func today(in timeZone: String) -> String {
        let now = Date()
        let zone = TimeZone(identifier: timeZone) ?? TimeZone(identifier: "UTC")!
        let seconds = now.timeIntervalSince1970 + Double(zone.secondsFromGMT(for: now))
        return string(julianDay: Int((seconds / 86_400).rounded(.down)) + 2_440_588)
    }

    /// Whole days from `start` to `end` (both YYYY-MM-DD).
    public static func days(from start: String, to end: String) -> Int? {
        guard let a = julianDay(start), let b = julianDay(end) else { return nil }
        return b - a
    }

    public static func julianDay(_ text: String) -> Int? {
        guard isValid(text) else { return nil }
        let parts = text.split(separator: "-").compactMap { Int($0) }
        let (y, m, d) = (parts[0], parts[1], parts[2])
        let a = (14 - m) / 12, yy = y + 4800 - a, mm = m + 12 * a - 3
        return d + (153 * mm + 2) / 5 + 365 * yy + yy / 4 - yy / 100 + yy / 400 - 32045
    }
}

extension CalendarDate {
    /// The YYYY-MM-DD date of a Julian day number (inverse of `julianDay`).
    /// Days before 0000-01-01 or after 9999-12-31 (arithmetic on a client's
    /// extreme date) give those bounds, so the four-digit form always holds.
    public static func string(julianDay: Int) -> String {
        let a = min(max(julianDay, 1_721_060), 5_373_484) + 32044, b = (4 * a + 3) / 146097, c = a - 146097 * b / 4
        let d = (4 * c + 3) / 1461, e = c - 1461 * d / 4, m = (5 * e + 2) / 153
        let day = e - (153 * m + 2) / 5 + 1, month = m + 3 - 12 * (m / 10), year = 100 * b + d - 4800 + m / 10
        // Written digit by digit: String(format:) cost more than the rest of a check-in's rules.
        return String(unsafeUninitializedCapacity: 10) { out in
            putDigits(year, width: 4, into: out, at: 0)
            out[4] = UInt8(ascii: "-")
            putDigits(month, width: 2, into: out, at: 5)
            out[7] = UInt8(ascii: "-")
            putDigits(day, width: 2, into: out, at: 8)
            return 10
        }
    }

    /// Writes the last `width` decimal digits of `value` (≥ 0), zero-padded,
    /// at `offset`.
    static func putDigits(_ value: Int, width: Int, into out: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        var rest = value
        for index in (offset..<offset + width).reversed() {
            out[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
    }
}
