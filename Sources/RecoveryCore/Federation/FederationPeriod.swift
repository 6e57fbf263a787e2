import Foundation

/// The period one federation snapshot reports: an ISO week (`2026-W49`, keyed
/// by its Monday) or, for the current week, one of its days (`2026-11-30`).
/// A Monday starts both its week and its own day, so a period is keyed by its
/// granularity and its first day together.
public struct FederationPeriod: Sendable, Hashable {
    public enum Granularity: String, Sendable, CaseIterable {
        case week, day
    }

    public let granularity: Granularity
    /// The first day, `YYYY-MM-DD`.
    public let start: String
    /// The last day, `YYYY-MM-DD`.
    public let end: String
    /// `2026-W49` for a week, the date itself for a day.
    public let name: String

    public init(_ week: ISOWeek) {
        granularity = .week
        start = week.start
        end = week.end
        name = week.name
    }

    /// The day `day` (`YYYY-MM-DD`); nil when it is no calendar date.
    public init?(day: String) {
        guard CalendarDate.isValid(day), let date = ISOWeek.date(day), ISOWeek.day(date) == day else { return nil }
        granularity = .day
        start = day
        end = day
        name = day
    }

    /// The day before the period: its balance opens with that day's census.
    public var dayBefore: String { ISOWeek.day(ISOWeek.date(start)!.addingTimeInterval(-86_400)) }

    /// The period's name as listed from its stored granularity and first day.
    public static func name(granularity: String, start: String) -> String {
        granularity == Granularity.day.rawValue ? start : (ISOWeek(monday: start)?.name ?? start)
    }
}

extension ISOWeek {
    /// The week's days from its Monday through `last` (`YYYY-MM-DD`, within the week), in order.
    public func days(through last: String) -> [FederationPeriod] {
        (0..<7).compactMap { offset in
            let day = ISOWeek.day(ISOWeek.date(start)!.addingTimeInterval(Double(offset) * 86_400))
            return day <= last ? FederationPeriod(day: day) : nil
        }
    }
}
