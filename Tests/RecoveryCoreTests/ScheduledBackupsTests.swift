import Foundation
import Testing
@testable import RecoveryCore

/// The backup schedule's forms and when a backup is due, and which backups
/// the retention rule keeps.
@Suite struct ScheduledBackupsTests {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    static func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test func scheduleForms() {
        #expect(BackupSchedule("off") == .off)
        #expect(BackupSchedule("hourly") == .every(minutes: 60))
        #expect(BackupSchedule("every 15 minutes") == .every(minutes: 15))
        #expect(BackupSchedule("daily 02:30") == .daily(hour: 2, minute: 30))
        for bad in ["", "daily", "daily 2:30", "daily 24:00", "every 0 minutes", "every 1441 minutes", "weekly", "daily 02:30 extra"] {
            #expect(BackupSchedule(bad) == nil, "\(bad)")
        }
        #expect(BackupSchedule.daily(hour: 2, minute: 0).description == "daily 02:00")
    }

    @Test func aDailyBackupIsDueOnceAfterItsTimeAndAMissedOneAtOnce() {
        let schedule = BackupSchedule.daily(hour: 2, minute: 0)
        let now = Self.date("2026-11-30T10:00:00Z")
        #expect(schedule.isDue(now: now, last: nil, calendar: Self.utc))
        #expect(!schedule.isDue(now: now, last: Self.date("2026-11-30T02:00:05Z"), calendar: Self.utc))
        #expect(schedule.isDue(now: now, last: Self.date("2026-11-29T02:00:05Z"), calendar: Self.utc))
        #expect(!schedule.isDue(now: Self.date("2026-11-30T01:59:00Z"), last: Self.date("2026-11-29T02:00:05Z"), calendar: Self.utc))
        #expect(BackupSchedule.every(minutes: 60).isDue(now: now, last: Self.date("2026-11-30T09:00:00Z")))
        #expect(!BackupSchedule.every(minutes: 60).isDue(now: now, last: Self.date("2026-11-30T09:30:00Z")))
        #expect(!BackupSchedule.off.isDue(now: now, last: nil))
    }

    func entry(_ date: String, _ state: ScheduledBackups.Entry.State = .verified) -> ScheduledBackups.Entry {
        let made = Self.date(date)
        return .init(file: ScheduledBackups.fileName(for: made), createdAt: Timestamp.string(made), state: state)
    }

    @Test func retentionKeepsTheNewestOfEachRecentDayAndWeek() {
        // Two a day for 30 days (03:00 and 15:00), newest first.
        var entries: [ScheduledBackups.Entry] = []
        for day in (1...30).reversed() {
            entries.append(entry(String(format: "2026-11-%02dT15:00:00Z", day)))
            entries.append(entry(String(format: "2026-11-%02dT03:00:00Z", day)))
        }
        let kept = ScheduledBackups.retained(entries, keepDaily: 3, keepWeekly: 2, calendar: Self.utc)
        let keptDates = Set(kept.compactMap(ScheduledBackups.date(ofFile:)).map { Timestamp.string($0) })
        // The newest of the 30th, 29th and 28th; the newest of this ISO week
        // (the 30th, a Monday) and of last week (Sunday the 29th).
        #expect(keptDates == ["2026-11-30T15:00:00.000Z", "2026-11-29T15:00:00.000Z", "2026-11-28T15:00:00.000Z"])
        let wider = ScheduledBackups.retained(entries, keepDaily: 1, keepWeekly: 3, calendar: Self.utc)
        let widerDates = Set(wider.compactMap(ScheduledBackups.date(ofFile:)).map { Timestamp.string($0) })
        #expect(widerDates == ["2026-11-30T15:00:00.000Z", "2026-11-29T15:00:00.000Z", "2026-11-22T15:00:00.000Z"])
    }

    @Test func aFailedBackupIsNeverKeptInsteadOfAVerifiedOne() {
        let entries = [entry("2026-11-30T03:00:00Z", .failed), entry("2026-11-29T03:00:00Z"), entry("2026-11-20T03:00:00Z", .failed)]
        let kept = ScheduledBackups.retained(entries, keepDaily: 1, keepWeekly: 0, calendar: Self.utc)
        // The verified one stays; the newer failed one stays listed; the old failed one goes.
        #expect(kept == [entries[0].file, entries[1].file])
    }

    @Test func namesRoundTripAndOtherFilesAreNotScheduledOnes() {
        let made = Self.date("2026-11-30T02:00:07Z")
        #expect(ScheduledBackups.fileName(for: made) == "recovery-20261130T020007Z.backup")
        #expect(ScheduledBackups.date(ofFile: "recovery-20261130T020007Z.backup") == made)
        #expect(ScheduledBackups.date(ofFile: "harborlight-usb.backup") == nil)
    }
}
