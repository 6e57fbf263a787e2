import Foundation

/// When the server writes a backup of its own (`backup.schedule`):
/// `off`, `hourly`, `every N minutes` (1–1440), or `daily HH:MM` in the
/// machine's local time. A backup that is due and was missed (the box was
/// off) is written at the next start.
public enum BackupSchedule: Sendable, Equatable, CustomStringConvertible {
    case off
    case every(minutes: Int)
    case daily(hour: Int, minute: Int)

    public init?(_ text: String) {
        let words = text.lowercased().split(separator: " ").map(String.init)
        switch words.count {
        case 1 where words[0] == "off": self = .off
        case 1 where words[0] == "hourly": self = .every(minutes: 60)
        case 2 where words[0] == "daily":
            let parts = words[1].split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let hour = Int(parts[0]), let minute = Int(parts[1]),
                  (0...23).contains(hour), (0...59).contains(minute) else { return nil }
            self = .daily(hour: hour, minute: minute)
        case 3 where words[0] == "every" && (words[2] == "minutes" || words[2] == "minute"):
            guard let minutes = Int(words[1]), (1...1_440).contains(minutes) else { return nil }
            self = .every(minutes: minutes)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .off: return "off"
        case .every(let minutes): return minutes == 60 ? "hourly" : "every \(minutes) minutes"
        case .daily(let hour, let minute): return String(format: "daily %02d:%02d", hour, minute)
        }
    }

    /// Whether a backup is due at `now`, given when the newest scheduled one
    /// was made (nil: none yet, so one is due at once).
    public func isDue(now: Date, last: Date?, calendar: Calendar = .current) -> Bool {
        switch self {
        case .off: return false
        case .every(let minutes):
            guard let last else { return true }
            return now.timeIntervalSince(last) >= Double(minutes * 60)
        case .daily(let hour, let minute):
            guard let last else { return true }
            // The latest scheduled moment at or before now.
            guard var moment = calendar.date(bySettingHour: hour, minute: minute, second: 0, of: now) else { return false }
            if moment > now { moment = calendar.date(byAdding: .day, value: -1, to: moment) ?? moment }
            return last < moment
        }
    }
}
