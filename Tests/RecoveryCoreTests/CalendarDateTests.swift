import Testing
@testable import RecoveryCore

@Suite struct CalendarDateTests {
    @Test func julianDaysRoundTrip() throws {
        for text in ["0000-01-01", "1900-02-28", "2000-02-29", "2026-11-30", "9999-12-31"] {
            let day = try #require(CalendarDate.julianDay(text))
            #expect(CalendarDate.string(julianDay: day) == text)
        }
        #expect(CalendarDate.days(from: "2026-02-27", to: "2026-03-01") == 2)
    }

    /// A client's extreme date minus or plus days must not leave the four-digit form
    /// (a negative year used to stop the server).
    @Test func arithmeticPastTheRepresentableYearsStopsAtTheirBounds() throws {
        let first = try #require(CalendarDate.julianDay("0000-01-01"))
        let last = try #require(CalendarDate.julianDay("9999-12-31"))
        #expect(CalendarDate.string(julianDay: first - 1) == "0000-01-01")
        #expect(CalendarDate.string(julianDay: first - 400_000) == "0000-01-01")
        #expect(CalendarDate.string(julianDay: last + 1) == "9999-12-31")
        #expect(CalendarDate.string(julianDay: Int.min / 2) == "0000-01-01")
    }

    @Test func onlyRealDatesInTheStorageFormAreValid() {
        for text in ["2025-02-29", "2026-13-01", "2026-1-01", "2026-01-01T00:00", "-001-01-01", "２０２６-01-01"] {
            #expect(!CalendarDate.isValid(text), "\(text)")
        }
        #expect(CalendarDate.isValid("2024-02-29"))
    }
}
