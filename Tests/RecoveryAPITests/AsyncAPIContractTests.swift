import Foundation
import Testing
@testable import RecoveryAPI
import RecoveryCore

/// The AsyncAPI document is the realtime contract: its events and the code's must match.
@Suite struct AsyncAPIContractTests {
    static func document() throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(AsyncAPIController.document)) as? [String: Any])
    }

    static func operations(_ action: String) throws -> Set<String> {
        let document = try document()
        let operations = try #require(document["operations"] as? [String: [String: Any]])
        let messages = try #require((document["components"] as? [String: Any])?["messages"] as? [String: [String: Any]])
        var names = Set<String>()
        for operation in operations.values where operation["action"] as? String == action {
            for message in operation["messages"] as? [[String: String]] ?? [] {
                let key = String(message["$ref"]!.split(separator: "/").last!)
                names.insert(try #require(messages[key]?["name"] as? String, "\(key) is a component message with a name"))
            }
        }
        return names
    }

    @Test func everyServerEventIsDocumentedAndNothingElse() throws {
        #expect(try Self.operations("receive") == Set(RealtimeEvent.allNames))
    }

    @Test func everyClientEventIsDocumentedAndNothingElse() throws {
        #expect(try Self.operations("send") == Set(ClientEvents.names))
    }

    @Test func everyMessageHasAPayloadSchemaAndEveryFeedEventAnEventID() throws {
        let messages = try #require((try Self.document()["components"] as? [String: Any])?["messages"] as? [String: [String: Any]])
        #expect(Set(messages.keys) == Set(RealtimeEvent.allNames + ClientEvents.names.map { "send." + $0 }))
        for kind in RealtimeEvent.Kind.allCases {
            let payload = try #require(messages[kind.rawValue]?["payload"] as? [String: Any])
            #expect((payload["required"] as? [String])?.contains("event_id") == true, "\(kind.rawValue) carries event_id")
        }
        #expect(try Self.document()["asyncapi"] as? String == "3.0.0")
    }
}
