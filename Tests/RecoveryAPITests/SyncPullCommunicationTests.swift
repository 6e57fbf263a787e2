import Foundation
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

/// An app that was offline catches up without the socket: `GET /sync/pull`
/// carries the headers of messages in the patient's conversations and their
/// facility's announcements meant for patients, and nothing of anyone else's.
@Suite struct SyncPullCommunicationTests {
    static func pull(_ client: any TestClientProtocol, token: String) async throws -> [[String: Any]] {
        var changes: [[String: Any]] = [], cursor: String?
        repeat {
            let page = try await client.get("/api/v1/sync/pull?limit=3" + (cursor.map { "&since=\($0)" } ?? ""), token: token)
            #expect(page.status == .ok, "\(page.text)")
            changes += page.json["changes"] as? [[String: Any]] ?? []
            cursor = page.json["cursor"] as? String
            if page.json["has_more"] as? Bool != true { break }
        } while true
        return changes
    }

    @Test func messageHeadersAndAnnouncementsArriveThroughThePull() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let c = try await MessagingTests.cast(box, client)
            let p = c.p
            let conversation = try MessagingTests.conversation(
                try await client.post("/api/v1/conversations", ["patient_id": p.patientA], token: p.counselorA1))
            let conversationID = try #require(conversation["id"] as? String)
            let sent = try await client.post("/api/v1/conversations/\(conversationID)/messages", ["body": "See you at group tonight"],
                                             token: p.counselorA1)
            let messageID = try #require((sent.json["message"] as? [String: Any])?["id"] as? String)
            func announce(_ audience: String, _ title: String) async throws -> String {
                let made = try await client.post("/api/v1/announcements", ["title": title, "body": "Details inside.", "audience": audience],
                                                 token: p.adminA)
                return try #require((made.json["announcement"] as? [String: Any])?["id"] as? String, "\(made.text)")
            }
            let forPatients = try await announce("patients", "Group moved to room 2")
            let forStaff = try await announce("staff", "Staff meeting")

            let changes = try await Self.pull(client, token: p.patientToken)
            let message = try #require(changes.first { $0["type"] as? String == "message" && $0["id"] as? String == messageID })
            let header = try #require(message["data"] as? [String: Any])
            #expect(header["conversation_id"] as? String == conversationID && header["body"] == nil, "a header, without the body")
            let announcements = changes.filter { $0["type"] as? String == "announcement" }
            #expect(announcements.compactMap { $0["id"] as? String } == [forPatients], "patients' announcements only")
            #expect((announcements.first?["data"] as? [String: Any])?["title"] as? String == "Group moved to room 2")

            // Another patient of the same facility: the announcement, not the message.
            let other = try await Self.pull(client, token: c.patientA2Token)
            #expect(!other.contains { $0["type"] as? String == "message" })
            #expect(other.filter { $0["type"] as? String == "announcement" }.compactMap { $0["id"] as? String } == [forPatients])

            // A retraction reaches the app as a delete.
            let retracted = try await client.post("/api/v1/announcements/\(forPatients)/retract", [:], token: p.adminA)
            #expect(retracted.status == .ok, "\(retracted.text)")
            let after = try await Self.pull(client, token: p.patientToken)
            #expect(after.last { $0["id"] as? String == forPatients }?["op"] as? String == "delete")
            #expect(!after.contains { $0["id"] as? String == forStaff })
        }
    }
}
