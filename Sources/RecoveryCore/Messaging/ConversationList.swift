import Foundation
import GRDB

/// The caller's conversations, with unread counts.
extension Messaging {
    public struct ConversationPage: Sendable, Equatable {
        public var conversations: [Conversation]
        /// How many conversations the caller has in all.
        public var total: Int
        /// Unread messages over all of them.
        public var totalUnread: Int
    }

    /// The conversations the policy lets the caller read (the rule as the
    /// list's condition), most recent activity first, each with its unread
    /// count, and the total unread. The read is audited before the answer,
    /// naming the patients of the care conversations listed.
    public func list(_ identity: Identity, page: Int, limit: Int, origin: RequestOrigin) async throws -> ConversationPage {
        let viewer = Viewer(identity)
        let scope: (sql: String, arguments: StatementArguments)
        do {
            scope = try AccessPolicy.conversationList(identity)
        } catch let error as AccessError {
            throw try await refused(error, "conversation.list", identity, conversationID: nil, origin: origin)
        }
        let me = viewer.participant("me")
        let result = try await appliance.database.read { db -> ConversationPage in
            let from = "FROM conversation_participants me JOIN conversations c ON c.id = me.conversation_id WHERE \(me.sql) AND me.left_at IS NULL AND \(scope.sql)"
            let total = try Int.fetchOne(db, sql: "SELECT count(*) \(from)", arguments: me.arguments + scope.arguments) ?? 0
            let ids = try String.fetchAll(db, sql: """
                SELECT c.id \(from) ORDER BY coalesce(c.last_message_at, c.created_at) DESC, c.id DESC LIMIT ? OFFSET ?
                """, arguments: me.arguments + scope.arguments + [limit, (page - 1) * limit])
            let conversations = try ids.map { try loadConversation($0, for: viewer, in: db) }
            return ConversationPage(conversations: conversations, total: total, totalUnread: try Self.totalUnread(identity, in: db))
        }
        let patients = Array(Set(result.conversations.compactMap(\.patientID))).sorted()
        try await appliance.auditWriter.record(AuditEvent(
            action: "conversation.list", outcome: .success, actorKind: identity.auditActor, actorID: identity.subjectID,
            facilityID: identity.facilityID, resourceType: "conversation", patientIDs: patients.isEmpty ? nil : patients,
            ipAddress: origin.ipAddress, requestID: origin.requestID, details: ["count": String(result.conversations.count)]))
        return result
    }

    /// One conversation as the caller sees it (decided and read in one read, audited).
    public func conversation(_ identity: Identity, conversationID: String, origin: RequestOrigin) async throws -> Conversation {
        let viewer = Viewer(identity)
        let (conversation, access): (Conversation, ConversationAccess)
        do {
            (conversation, access) = try await appliance.database.read { db in
                let access = try AccessPolicy.conversation(identity, conversationID, in: db)
                return (try loadConversation(conversationID, for: viewer, in: db), access)
            }
        } catch let error as AccessError {
            throw try await refused(error, "conversation.read", identity, conversationID: conversationID, origin: origin)
        }
        try await appliance.auditWriter.record(event("conversation.read", identity, access, origin))
        return conversation
    }
}
