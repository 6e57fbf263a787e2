import Foundation

/// An ISO 8601 week (Monday to Sunday, UTC calendar days): the period each
/// federation payload reports, named like `2026-W48`.
public struct ISOWeek: Sendable, Hashable, Comparable {
    /// The Monday, `YYYY-MM-DD`.
    public let start: String
    /// The Sunday, `YYYY-MM-DD`.
    public let end: String
    public let name: String

    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// The week holding `date` (UTC).
    public init(containing date: Date) {
        let calendar = Self.calendar
        let monday = calendar.dateInterval(of: .weekOfYear, for: date)!.start
        let parts = calendar.dateComponents([.weekOfYear, .yearForWeekOfYear], from: monday)
        start = Self.day(monday)
        end = Self.day(calendar.date(byAdding: .day, value: 6, to: monday)!)
        name = String(format: "%04d-W%02d", parts.yearForWeekOfYear!, parts.weekOfYear!)
    }

    /// The week whose Monday is `monday` (`YYYY-MM-DD`); nil when it is no Monday.
    public init?(monday: String) {
        guard CalendarDate.isValid(monday), let date = Self.date(monday) else { return nil }
        self.init(containing: date)
        guard start == monday else { return nil }
    }

    /// The week `count` weeks before this one.
    public func back(_ count: Int) -> ISOWeek {
        ISOWeek(containing: Self.calendar.date(byAdding: .day, value: -7 * count, to: Self.date(start)!)!)
    }

    public static func < (a: ISOWeek, b: ISOWeek) -> Bool { a.start < b.start }

    static func day(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    static func date(_ day: String) -> Date? {
        let parts = day.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        return calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2], hour: 12))
    }
}
