import Foundation

/// A daily check-in as the patient app sends it, checked field by field.
/// Mood, craving, stress, confidence and reported use are the self-report
/// signals published studies found most predictive of lapse.
public struct CheckInInput: Sendable, Equatable {
    public var localDate: String
    public var timezone: String
    public var mood: Int
    public var craving: Int?
    public var stress: Int?
    public var confidence: Int?
    public var usedSinceLast: Bool
    public var hungry: Bool
    public var angry: Bool
    public var lonely: Bool
    public var tired: Bool
    public var sleepHours: Double?
    public var energy: Int?
    public var note: String?

    public static let maxNoteLength = 2_000

    /// A reason naming the field, for the sync answer and 422s.
    public struct Problem: Error, Equatable, Sendable {
        public var field: String
        public var issue: String
        public var reason: String { "\(field): \(issue)" }
    }

    /// Reads and checks `data`; the first problem found is thrown.
    public static func parse(_ data: [String: JSONValue], now: Date = Date()) throws -> CheckInInput {
        func problem(_ field: String, _ issue: String) -> Problem { Problem(field: field, issue: issue) }
        func integer(_ key: String, _ range: ClosedRange<Int>, required: Bool = false) throws -> Int? {
            guard let value = data[key], value != .null else {
                if required { throw problem(key, "is required") }
                return nil
            }
            guard case .integer(let number) = value, range.contains(number) else {
                throw problem(key, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        func flag(_ key: String, in object: [String: JSONValue] = data, name: String? = nil) throws -> Bool {
            guard let value = object[key], value != .null else { return false }
            guard case .bool(let flag) = value else { throw problem(name ?? key, "must be true or false") }
            return flag
        }
        guard case .string(let timezone)? = data["timezone"], TimeZone(identifier: timezone) != nil else {
            throw problem("timezone", "must be an IANA time zone such as America/Chicago")
        }
        guard case .string(let localDate)? = data["local_date"], CalendarDate.isValid(localDate) else {
            throw problem("local_date", "must be a real date as YYYY-MM-DD")
        }
        if localDate > CalendarDate.today(in: timezone) { throw problem("local_date", "must not be in the future") }
        if localDate < "2000-01-01" { throw problem("local_date", "is too far in the past") }
        var halt: [String: JSONValue] = [:]
        if let value = data["halt"], value != .null {
            guard case .object(let object) = value else { throw problem("halt", "must be an object of hungry, angry, lonely, tired") }
            halt = object
        }
        var sleep: Double?
        switch data["sleep_hours"] {
        case nil, .null?: sleep = nil
        case .integer(let hours)?: sleep = Double(hours)
        case .number(let hours)?: sleep = hours
        default: throw problem("sleep_hours", "must be a number from 0 to 24")
        }
        if let sleep, !(0...24).contains(sleep) { throw problem("sleep_hours", "must be a number from 0 to 24") }
        var note: String?
        switch data["note"] {
        case nil, .null?: note = nil
        case .string(let text)?:
            if text.count > maxNoteLength { throw problem("note", "must be at most \(maxNoteLength) characters") }
            if TextRules.hasControlCharacters(text, allowLineBreaks: true) { throw problem("note", "must not contain control characters") }
            note = text.isEmpty ? nil : text
        default: throw problem("note", "must be a string")
        }
        return CheckInInput(
            localDate: localDate, timezone: timezone, mood: try integer("mood", 1...10, required: true)!,
            craving: try integer("craving", 0...10), stress: try integer("stress", 0...10), confidence: try integer("confidence", 0...10),
            usedSinceLast: try flag("used_since_last"),
            hungry: try flag("hungry", in: halt, name: "halt.hungry"), angry: try flag("angry", in: halt, name: "halt.angry"),
            lonely: try flag("lonely", in: halt, name: "halt.lonely"), tired: try flag("tired", in: halt, name: "halt.tired"),
            sleepHours: sleep, energy: try integer("energy", 1...10), note: note)
    }
}
