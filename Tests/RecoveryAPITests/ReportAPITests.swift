import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

/// The PDF reports through the router: the text poppler's `pdftotext`
/// extracts holds the figures; a download under a consent is in the
/// accounting of disclosures; refusals and bad parameters.
@Suite struct ReportAPITests {
    /// The PDF's text as `pdftotext -layout` extracts it (poppler-utils).
    static func text(_ pdf: ByteBuffer) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("report.pdf")
        try Data(buffer: pdf).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/pdftotext")
        process.arguments = ["-layout", file.path, dir.appendingPathComponent("report.txt").path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return try String(contentsOf: dir.appendingPathComponent("report.txt"), encoding: .utf8)
    }

    @Test func progressReportCarriesTheFiguresAndADisclosureWhenItLeaves() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let today = CalendarDate.julianDay(CalendarDate.today(in: "America/Chicago"))!
            for (mood, back) in [(3, 2), (5, 1), (7, 0)] {
                let r = try await client.post("/api/v1/me/check-ins", ["id": UUID().uuidString, "local_date": CalendarDate.string(julianDay: today - back),
                                                                       "timezone": "America/Chicago", "mood": mood, "craving": 4, "halt": ["lonely": true]],
                                              token: p.patientToken)
                #expect(r.status == .created, "\(r.text)")
            }
            let from = CalendarDate.string(julianDay: today - 13), to = CalendarDate.string(julianDay: today)
            let url = "/api/v1/patients/\(p.patientA)/reports/progress.pdf?from=\(from)&to=\(to)"
            let r = try await client.get(url, token: p.counselorA1)
            #expect(r.status == .ok && r.headers[.contentType] == "application/pdf")
            #expect(String(buffer: r.body).hasPrefix("%PDF-"))
            let text = try Self.text(r.body)
            #expect(text.contains("Progress report") && text.contains("Marisol Quenneville"))
            #expect(text.contains("Period \(from) to \(to)"))
            #expect(text.contains("Of 3 check-ins in the last 30 days, 3 reported feeling lonely (100 %)."))
            let checkIns = try #require(text.split(separator: "\n").first { $0.contains("Check-ins") })
            #expect(checkIns.split(separator: " ").last == "3")
            let days = try #require(text.split(separator: "\n").first { $0.contains("Days in the period") })
            #expect(days.split(separator: " ").last == "14")
            #expect(text.contains("reported_use_14d") && text.contains("missed_check_ins_7d"))

            // A consent that does not cover progress (medications, documents) releases nothing.
            let narrow = try await client.post("/api/v1/patients/\(p.patientA)/consents", ConsentTests.consent, token: p.counselorA1)
            let narrowID = try #require((narrow.json["consent"] as? [String: Any])?["id"] as? String, "\(narrow.text)")
            let refused = try await client.get(url + "&consent_id=\(narrowID)", token: p.counselorA1)
            #expect(refused.status == .conflict && refused.text.contains("does not cover progress"), "\(refused.text)")
            // Under a consent to progress the download is a release in the accounting; not under a revoked one.
            var covering = ConsentTests.consent
            covering["information_scope"] = ["progress"]
            let consent = try await client.post("/api/v1/patients/\(p.patientA)/consents", covering, token: p.counselorA1)
            let consentID = try #require((consent.json["consent"] as? [String: Any])?["id"] as? String, "\(consent.text)")
            #expect(try await client.get(url + "&consent_id=\(consentID)", token: p.counselorA1).status == .ok)
            let disclosures = try await client.get("/api/v1/patients/\(p.patientA)/disclosures", token: p.counselorA1)
            #expect((disclosures.json["data"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } == ["report"], "\(disclosures.text)")
            _ = try await client.post("/api/v1/consents/\(consentID)/revoke", [:], token: p.counselorA1)
            #expect(try await client.get(url + "&consent_id=\(consentID)", token: p.counselorA1).status == .conflict)
            let audited = try await box.appliance.database.pool.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs WHERE action = 'report.progress' AND outcome = 'success' AND patient_id = ?",
                                 arguments: [p.patientA])!
            }
            #expect(audited == 2)

            // Refusals and bad parameters.
            #expect(try await client.get(url, token: p.counselorA2).status == .forbidden)
            #expect(try await client.get(url, token: p.adminB).status == .notFound)
            #expect(try await client.get(url, token: p.patientToken).status == .forbidden)
            for (query, field) in [("from=2026-02-30", "from"), ("from=2026-03-10&to=2026-03-01", "to"), ("from=2024-01-01&to=2026-03-01", "to"),
                                   ("consent_id=12", "consent_id")] {
                let bad = try await client.get("/api/v1/patients/\(p.patientA)/reports/progress.pdf?" + query, token: p.counselorA1)
                #expect(bad.status == .unprocessableContent && bad.errorFields == [field], "\(query): \(bad.text)")
            }
        }
    }

    @Test func monthlyReportListsTheFacilitysPatientsAndWeeks() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            try await box.appliance.database.pool.write { db in
                try db.execute(sql: "UPDATE patients SET status = 'active', admission_date = '2026-03-02' WHERE facility_id = ?", arguments: [p.facilityA])
                try db.execute(sql: "UPDATE facilities SET capacity = 8 WHERE id = ?", arguments: [p.facilityA])
            }
            let url = "/api/v1/facilities/\(p.facilityA)/reports/monthly.pdf?month=2026-03"
            let r = try await client.get(url, token: p.adminA)
            #expect(r.status == .ok, "\(r.text)")
            let text = try Self.text(r.body)
            #expect(text.contains("Monthly report 2026-03") && text.contains("Quenneville, Marisol") && text.contains("Wren, Tobias"))
            #expect(text.contains("0 of 2 active patients checked in at least once in 2026-03"))
            #expect(text.contains("The census peaked at 2 in the week of 2026-03-02, 25 % of the 8 licensed beds."))
            #expect(!text.contains("Bayside"))
            // 1 March 2026 is a Sunday: the weeks from 23 February to 30 March.
            #expect(text.contains("2026-02-23") && text.contains("2026-03-30"))
            let audit = try await client.get("/api/v1/audit-logs?action=report.monthly", token: p.adminA)
            let entry = try #require((audit.json["data"] as? [[String: Any]])?.first, "\(audit.text)")
            #expect(Set(entry["patient_ids"] as? [String] ?? []) == [p.patientA, p.patientA2])

            #expect(try await client.get(url, token: p.counselorA1).status == .forbidden)
            #expect(try await client.get("/api/v1/facilities/\(p.facilityB)/reports/monthly.pdf?month=2026-03", token: p.adminA).status == .notFound)
            // Months before 1900 are refused like any other bad month.
            for query in ["", "?month=2026-13", "?month=March", "?month=0000-01"] {
                let bad = try await client.get("/api/v1/facilities/\(p.facilityA)/reports/monthly.pdf" + query, token: p.adminA)
                #expect(bad.status == .unprocessableContent && bad.errorFields == ["month"], "\(query): \(bad.text)")
            }
        }
    }

    /// While every drawing turn is taken a download waits; once one is free it arrives whole.
    @Test func aDownloadWaitsWhileEveryDrawingTurnIsTaken() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let url = "/api/v1/facilities/\(p.facilityA)/reports/monthly.pdf?month=2026-03"
            let drawings = box.appliance.reportDrawings
            for _ in 0..<drawings.capacity { await drawings.enter() }
            let arrived = Mutex(false)
            let download = Task {
                let r = try await client.get(url, token: p.adminA)
                arrived.withLock { $0 = true }
                return r
            }
            // The report draws in well under a second when a turn is free; held turns keep it waiting.
            try await Task.sleep(for: .seconds(1))
            #expect(!arrived.withLock { $0 }, "the download was drawn while every turn was taken")
            for _ in 0..<drawings.capacity { drawings.leave() }
            let r = try await download.value
            let text = try Self.text(r.body)
            #expect(r.status == .ok && text.contains("Monthly report 2026-03"))
        }
    }

    /// A writer that takes the first chunk, then waits until its task is cancelled: a client that stops reading.
    struct StalledClient: ResponseBodyWriter {
        final class Chunks: Sendable { let count = Mutex(0) }
        let chunks = Chunks()
        mutating func write(_ buffer: ByteBuffer) async throws {
            if chunks.count.withLock({ $0 += 1; return $0 > 1 }) { try await Task.sleep(for: .seconds(3600)) }
        }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }

    /// A client that stops reading loses its download after the stall limit, and its drawing turn is free again.
    @Test(.timeLimit(.minutes(1))) func aClientThatStopsReadingGivesItsDrawingTurnBack() async throws {
        let drawings = ConcurrencyLimit(capacity: 1)
        let body = ReportController.pdfBody(drawings: drawings, title: "Stalled", stallLimit: .milliseconds(300)) { canvas in
            // Pages of scattered shapes: far more than the chunks allowed ahead of the client.
            var generator = SeededGenerator(seed: 7)
            for page in 0..<200 {
                if page > 0 { canvas.newPage() }
                for _ in 0..<400 {
                    canvas.color(.random(in: 0...1, using: &generator), .random(in: 0...1, using: &generator), .random(in: 0...1, using: &generator))
                    canvas.fillRect(.random(in: 0...500, using: &generator), .random(in: 0...700, using: &generator), 7.3, 3.1)
                }
                if canvas.stopped { return false }
            }
            return canvas.finish()
        }
        let client = StalledClient()
        let download = Task { try await body.write(client) }
        while client.chunks.count.withLock({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
        // The drawing holds the only turn while the client has stopped reading; this waits (to the time limit) if it never gives it up.
        await drawings.enter()
        drawings.leave()
        download.cancel()
        _ = try? await download.value
    }

    /// More downloads at once than reports may be drawn: the others wait their turn and every one arrives whole.
    @Test func downloadsBeyondTheDrawingLimitWaitTheirTurn() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let url = "/api/v1/facilities/\(p.facilityA)/reports/monthly.pdf?month=2026-03"
            let count = box.appliance.reportDrawings.capacity * 3
            let texts = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<count {
                    group.addTask {
                        let r = try await client.get(url, token: p.adminA)
                        #expect(r.status == .ok)
                        return try Self.text(r.body)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(texts.count == count)
            #expect(texts.allSatisfy { $0.contains("Monthly report 2026-03") && $0.contains("Quenneville, Marisol") })
        }
    }
}
