import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

@Suite struct AnnouncementTests {
    static func titles(_ response: TestResponse) -> [String] {
        (response.json["data"] as? [[String: Any]])?.compactMap { $0["title"] as? String } ?? []
    }

    static func create(_ client: any TestClientProtocol, _ token: String, _ title: String, audience: String = "all",
                       extra: [String: Any] = [:]) async throws -> String {
        var body: [String: Any] = ["title": title, "body": "Details for \(title).", "audience": audience]
        body.merge(extra) { $1 }
        let response = try await client.post("/api/v1/announcements", body, token: token)
        guard response.status == .created, let id = (response.json["announcement"] as? [String: Any])?["id"] as? String else {
            throw TestFailure("create \(title): \(response.text)")
        }
        return id
    }

    @Test func readersSeeTheirAudienceUnreadFirstAndNothingExpiredOrRetracted() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let everyone = try await Self.create(client, p.adminA, "Holiday hours")
            _ = try await Self.create(client, p.adminA, "Staff meeting", audience: "staff")
            _ = try await Self.create(client, p.adminA, "Group therapy moved", audience: "patients")
            _ = try await Self.create(client, p.adminA, "For Tobias only", audience: "patients", extra: ["patient_ids": [p.patientA2]])
            _ = try await Self.create(client, p.adminA, "For Marisol only", audience: "all", extra: ["patient_ids": [p.patientA]])
            _ = try await Self.create(client, p.adminA, "Nurses huddle", audience: "staff", extra: ["staff_ids": [p.counselorA2ID]])
            let expiring = try await Self.create(client, p.adminA, "Yesterday's drill")
            _ = try await Self.create(client, p.adminB, "Bayside picnic")
            try await box.appliance.database.pool.write { db in
                try db.execute(sql: "UPDATE announcements SET published_at = ?, expires_at = ? WHERE id = ?",
                               arguments: ["2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z", expiring])
            }

            #expect(Set(Self.titles(try await client.get("/api/v1/announcements", token: p.patientToken))) ==
                    ["Holiday hours", "Group therapy moved", "For Marisol only"])
            #expect(Set(Self.titles(try await client.get("/api/v1/announcements", token: p.counselorA1))) == ["Holiday hours", "Staff meeting"])
            #expect(Set(Self.titles(try await client.get("/api/v1/announcements", token: p.counselorA2))) == ["Holiday hours", "Staff meeting", "Nurses huddle"])
            #expect(Self.titles(try await client.get("/api/v1/announcements", token: p.adminB)) == ["Bayside picnic"])

            // Unread first: reading the newest moves it last.
            let before = Self.titles(try await client.get("/api/v1/announcements", token: p.patientToken))
            #expect(before.first == "For Marisol only")
            let read = try await client.post("/api/v1/announcements/\((try await client.get("/api/v1/announcements", token: p.patientToken).json["data"] as! [[String: Any]])[0]["id"] as! String)/read", [:], token: p.patientToken)
            #expect(read.status == .ok && read.json["read_at"] is String)
            let after = try await client.get("/api/v1/announcements", token: p.patientToken)
            #expect(Self.titles(after).last == "For Marisol only")
            #expect((after.json["data"] as? [[String: Any]])?.last?["read_at"] is String)

            // Out of reach: another facility's, another audience's, expired.
            let staffOnly = try #require((try await client.get("/api/v1/announcements", token: p.counselorA1).json["data"] as? [[String: Any]])?
                .first { $0["title"] as? String == "Staff meeting" }?["id"] as? String)
            #expect(try await client.post("/api/v1/announcements/\(staffOnly)/read", [:], token: p.patientToken).status == .notFound)
            #expect(try await client.post("/api/v1/announcements/\(everyone)/read", [:], token: p.adminB).status == .notFound)
            #expect(try await client.post("/api/v1/announcements/\(expiring)/read", [:], token: p.counselorA1).status == .notFound)

            // Retract: gone for readers, kept for managers; twice is a conflict.
            let retracted = try await client.post("/api/v1/announcements/\(everyone)/retract", [:], token: p.adminA)
            #expect((retracted.json["announcement"] as? [String: Any])?["retracted_at"] is String)
            #expect(!Self.titles(try await client.get("/api/v1/announcements", token: p.counselorA1)).contains("Holiday hours"))
            #expect(try await client.post("/api/v1/announcements/\(everyone)/retract", [:], token: p.adminA).errorCode == "already_retracted")
            #expect(Self.titles(try await client.get("/api/v1/announcements?scope=manage", token: p.adminA)).contains("Holiday hours"))
            #expect(try await client.get("/api/v1/announcements?scope=manage", token: p.counselorA1).status == .forbidden)
            #expect(try await client.post("/api/v1/announcements/\(everyone)/retract", [:], token: p.adminB).status == .notFound)

            // Edit.
            let edited = try await client.patch("/api/v1/announcements/\(staffOnly)", ["title": "Staff meeting (moved to 3 pm)"], token: p.adminA)
            #expect((edited.json["announcement"] as? [String: Any])?["title"] as? String == "Staff meeting (moved to 3 pm)")
            #expect((edited.json["announcement"] as? [String: Any])?["edited_at"] is String)
        }
        let events = try await box.appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM realtime_events WHERE kind = 'announcement:new'")! }
        #expect(events == 8)
    }

    @Test func aScheduledAnnouncementIsAnnouncedWhenItsTimeComes() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let later = Date().addingTimeInterval(3_600)
            let id = try await Self.create(client, p.adminA, "Evening group", extra: ["publish_at": Timestamp.string(later)])
            #expect(Self.titles(try await client.get("/api/v1/announcements", token: p.counselorA1)).isEmpty)
            #expect(try await Announcements(appliance: box.appliance).publishDue(now: Date()).isEmpty)
            let reader = Identity(kind: .patient, subjectID: p.patientA, role: nil, facilityID: p.facilityA, sessionID: "s")
            let shown = try await Announcements(appliance: box.appliance).list(reader, page: 1, limit: 10, now: later.addingTimeInterval(2))
            #expect(shown.announcements.map(\.id) == [id])
            // The hour passes.
            try await box.appliance.database.pool.write { db in
                try db.execute(sql: "UPDATE announcements SET published_at = ? WHERE id = ?", arguments: [Timestamp.string(Date().addingTimeInterval(-1)), id])
            }
            let events = try await CrisisClock(appliance: box.appliance).tick()
            #expect(events.map(\.kind) == [.announcementNew] && events.first?.subjectID == id)
            #expect(Self.titles(try await client.get("/api/v1/announcements", token: p.counselorA1)) == ["Evening group"])
            #expect(try await CrisisClock(appliance: box.appliance).tick().isEmpty)

            // Its audience: the facility's readers of that audience, by the one-record decision.
            let adminBID = try await CrisisAlertTests.staffID(box, "admin@bayside.example")
            let listeners = [Listener(key: "c1", identity: Identity(kind: .staff, subjectID: p.counselorA1ID, role: .counselor, facilityID: p.facilityA, sessionID: "s")),
                             Listener(key: "patient", identity: reader),
                             Listener(key: "adminB", identity: Identity(kind: .staff, subjectID: adminBID, role: .admin, facilityID: p.facilityB, sessionID: "s"))]
            let deliveries = try await box.appliance.database.pool.read { db in try EventDelivery(appliance: box.appliance).deliveries(of: events[0], to: listeners, in: db) }
            #expect(Set(deliveries.map(\.listenerKey)) == ["c1", "patient"])
            #expect(deliveries.allSatisfy { !$0.phi })
        }
    }

    @Test func badInputIsRefusedNamingTheFieldAndStoresNothing() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let valid: [String: Any] = ["title": "T", "body": "B", "audience": "all"]
            let cases: [([String: Any], String)] = [
                (["title": ""], "title"), (["title": 5], "title"), (["title": String(repeating: "t", count: 201)], "title"),
                (["body": "  "], "body"), (["audience": "everyone"], "audience"), (["priority": "meh"], "priority"),
                (["publish_at": "tomorrow"], "publish_at"), (["expires_at": "2020-01-01T00:00:00Z"], "expires_at"),
                (["staff_ids": ["not-a-uuid"]], "staff_ids[0]"), (["staff_ids": "x"], "staff_ids"),
                (["patient_ids": [p.patientB]], "patient_ids[0]"), (["audience": "staff", "patient_ids": [p.patientA]], "patient_ids"),
            ]
            for (change, field) in cases {
                var body = valid
                body.merge(change) { $1 }
                let response = try await client.post("/api/v1/announcements", body, token: p.adminA)
                #expect(response.status == .unprocessableContent && response.errorFields == [field], "\(change): \(response.text)")
            }
            var missing = valid
            missing["body"] = nil
            #expect(try await client.post("/api/v1/announcements", missing, token: p.adminA).errorFields == ["body"])
            #expect(try await client.post("/api/v1/announcements", valid, token: p.counselorA1).status == .forbidden)
            #expect(try await client.post("/api/v1/announcements", valid, token: p.patientToken).status == .forbidden)
            let id = try await Self.create(client, p.adminA, "Kept")
            for (change, field) in [(["title": ""], "title"), (["priority": "meh"], "priority"), (["expires_at": "2020-01-01T00:00:00Z"], "expires_at")] as [([String: Any], String)] {
                let response = try await client.patch("/api/v1/announcements/\(id)", change, token: p.adminA)
                #expect(response.status == .unprocessableContent && response.errorFields == [field], "\(change): \(response.text)")
            }
        }
        let stored = try await box.appliance.database.pool.read { db in try String.fetchAll(db, sql: "SELECT title FROM announcements") }
        #expect(stored == ["Kept"])
    }
}
