import Foundation
import GRDB

/// Why a record the app sent cannot be stored: the field and what is wrong
/// with it. Never repeats the value, which may be PHI.
public struct RecordProblem: Error, Equatable, Sendable {
    public var field: String
    public var issue: String

    public init(_ field: String, _ issue: String) {
        self.field = field
        self.issue = issue
    }

    /// "mood: must be a whole number from 1 to 10", for sync results.
    public var reason: String { "\(field): \(issue)" }
}

/// One field of a record the patient app writes: where it sits in the
/// app's JSON (`halt.hungry` is nested), the column that stores it and the
/// rule it must meet. Free text marked with a `PHIField` is encrypted.
public struct RecordField: Sendable {
    public enum Rule: Sendable {
        case integer(ClosedRange<Int>)
        case number(ClosedRange<Double>)
        /// true or false; missing means false.
        case flag
        case text(maxLength: Int, secret: PHIField?)
        case choice([String])
        /// YYYY-MM-DD, a real date from 2000 on.
        case calendarDate
        /// An RFC 3339 time from 2000 on and not in the future; stored in UTC.
        case instant
        case timeZone
        case uuid
        /// A list of lowercase codes, stored as a JSON array.
        case codes(maxCount: Int)
    }

    public let key: String
    /// `key` split at its dots: ["halt", "hungry"].
    let path: [String]
    public let column: String
    public let rule: Rule
    public let required: Bool

    public init(_ key: String, _ column: String, _ rule: Rule, required: Bool = false) {
        self.key = key
        self.path = key.split(separator: ".").map(String.init)
        self.column = column
        self.rule = rule
        self.required = required
    }

    /// A device clock may run this far ahead of the box's before a time counts as "in the future".
    public static let clockSkewSeconds: TimeInterval = 300

    /// The value the app sent for this field (nil when absent or null).
    func value(in data: [String: JSONValue]) throws -> JSONValue? {
        var object = data
        for parent in path.dropLast() {
            switch object[parent] {
            case nil, .null?: return nil
            case .object(let inner)?: object = inner
            default: throw RecordProblem(parent, "must be an object")
            }
        }
        let value = object[path.last!]
        return value == .null ? nil : value
    }

    /// Checks the field and gives the value to store (plain text for secret
    /// fields; they are sealed when the record's id is known).
    func parse(_ data: [String: JSONValue], now: Date) throws -> DatabaseValue {
        guard let value = try value(in: data) else {
            if required { throw RecordProblem(key, "is required") }
            if case .flag = rule { return false.databaseValue }
            if case .codes = rule { return "[]".databaseValue }
            return .null
        }
        switch rule {
        case .integer(let range):
            guard case .integer(let number) = value, range.contains(number) else {
                throw RecordProblem(key, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number.databaseValue
        case .number(let range):
            let number: Double
            switch value {
            case .integer(let whole): number = Double(whole)
            case .number(let fraction): number = fraction
            default: throw RecordProblem(key, "must be a number from \(Int(range.lowerBound)) to \(Int(range.upperBound))")
            }
            guard range.contains(number) else { throw RecordProblem(key, "must be a number from \(Int(range.lowerBound)) to \(Int(range.upperBound))") }
            return number.databaseValue
        case .flag:
            guard case .bool(let flag) = value else { throw RecordProblem(key, "must be true or false") }
            return flag.databaseValue
        case .text(let maxLength, _):
            guard case .string(let text) = value else { throw RecordProblem(key, "must be a string") }
            if text.unicodeScalars.count > maxLength { throw RecordProblem(key, "must be at most \(maxLength) characters") }
            if TextRules.hasControlCharacters(text, allowLineBreaks: true) { throw RecordProblem(key, "must not contain control characters") }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty {
                if required { throw RecordProblem(key, "must not be empty") }
                return .null
            }
            return text.databaseValue
        case .choice(let options):
            guard case .string(let text) = value, options.contains(text) else {
                throw RecordProblem(key, "must be one of " + options.joined(separator: ", "))
            }
            return text.databaseValue
        case .calendarDate:
            guard case .string(let text) = value, CalendarDate.isValid(text) else { throw RecordProblem(key, "must be a real date as YYYY-MM-DD") }
            if text < "2000-01-01" { throw RecordProblem(key, "is too far in the past") }
            return text.databaseValue
        case .instant:
            guard case .string(let text) = value, let date = Timestamp.parseStrict(text) else {
                throw RecordProblem(key, "must be an RFC 3339 time such as 2026-11-25T08:30:00Z")
            }
            if date.timeIntervalSince(now) > Self.clockSkewSeconds { throw RecordProblem(key, "must not be in the future") }
            if date < Self.earliest { throw RecordProblem(key, "is too far in the past") }
            return Timestamp.string(date).databaseValue
        case .timeZone:
            guard case .string(let text) = value, text.utf8.count <= 64, TimeZone(identifier: text) != nil else {
                throw RecordProblem(key, "must be an IANA time zone such as America/Chicago")
            }
            return text.databaseValue
        case .uuid:
            guard case .string(let text) = value, let uuid = UUID(uuidString: text) else { throw RecordProblem(key, "must be a UUID") }
            return uuid.uuidString.lowercased().databaseValue
        case .codes(let maxCount):
            guard case .array(let items) = value else { throw RecordProblem(key, "must be a list of codes") }
            if items.count > maxCount { throw RecordProblem(key, "must have at most \(maxCount) entries") }
            var codes: [String] = []
            for item in items {
                guard case .string(let code) = item, Self.isCode(code) else { throw RecordProblem(key, "must be a list of codes") }
                if !codes.contains(code) { codes.append(code) }
            }
            return JSONValue.array(codes.map(JSONValue.string)).canonicalText.databaseValue
        }
    }

    /// The stored value as the app sees it (secret fields opened).
    func output(_ stored: DatabaseValue, rowID: String, cipher: FieldCipher) throws -> JSONValue {
        if stored.isNull {
            if case .flag = rule { return .bool(false) }
            return .null
        }
        switch rule {
        case .integer: return .integer(Int.fromDatabaseValue(stored) ?? 0)
        case .number: return .number(Double.fromDatabaseValue(stored) ?? 0)
        case .flag: return .bool(Bool.fromDatabaseValue(stored) ?? false)
        case .text(_, let secret?):
            guard let blob = Data.fromDatabaseValue(stored) else { return .null }
            return .string(try cipher.openString(blob, field: secret, rowID: rowID))
        case .codes:
            let text = String.fromDatabaseValue(stored) ?? "[]"
            return (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? .array([])
        case .text, .choice, .calendarDate, .instant, .timeZone, .uuid:
            return String.fromDatabaseValue(stored).map(JSONValue.string) ?? .null
        }
    }

    static let earliest = Date(timeIntervalSince1970: 946_684_800)   // 2000-01-01T00:00:00Z

    static func isCode(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, (97...122).contains(first), bytes.count <= 40 else { return false }
        return bytes.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }
    }
}
