import Foundation
import GRDB

/// A message as one viewer sees it. `seq` orders a conversation's messages
/// (1, 2, 3...) and is what read markers and cursors count.
public struct Message: Sendable, Equatable {
    public var id: String
    public var conversationID: String
    public var seq: Int64
    /// staff or patient
    public var senderKind: String
    /// nil when the viewer may not know who sent it (another patient of a group).
    public var senderID: String?
    /// A staff member's name or a group patient's alias.
    public var senderName: String?
    public var body: String
    /// The sender's idempotency key; shown to the sender only.
    public var clientID: String?
    public var isMine: Bool
    public var createdAt: String

    /// The message as the API (and a `message:new` delivery) shows it.
    public var json: JSONValue {
        .object(["id": .string(id), "conversation_id": .string(conversationID), "seq": .integer(Int(seq)),
                 "sender_kind": .string(senderKind), "sender_id": senderID.map { .string($0) } ?? .null,
                 "sender_name": senderName.map { .string($0) } ?? .null, "body": .string(body),
                 "client_id": clientID.map { .string($0) } ?? .null, "is_mine": .bool(isMine), "created_at": .string(createdAt)])
    }
}

/// A page of messages, newest first, and the cursor of the next (older) page.
public struct MessagePage: Sendable, Equatable {
    public var messages: [Message]
    /// nil on the last page.
    public var nextCursor: String?
}

extension Messaging {
    static let messageColumns = "id, conversation_id, seq, sender_kind, sender_staff_id, sender_patient_id, body_enc, client_message_id, created_at"

    func message(_ row: Row, roster: Roster, for viewer: Viewer) throws -> Message {
        let id: String = row["id"]
        let kind: String = row["sender_kind"]
        let senderID: String = kind == "staff" ? row["sender_staff_id"] : row["sender_patient_id"]
        let participant = roster.byKey[Roster.key(kind, senderID)]
        let isMine = kind == viewer.kind.rawValue && senderID == viewer.id
        return Message(id: id, conversationID: row["conversation_id"], seq: row["seq"], senderKind: kind,
                       senderID: participant.map { $0.id } ?? senderID, senderName: participant?.displayName,
                       body: try appliance.cipher.openString(row["body_enc"], field: .messagesBody, rowID: id),
                       clientID: isMine ? row["client_message_id"] : nil, isMine: isMine, createdAt: row["created_at"])
    }

    /// One message as `viewer` sees it; nil when it is gone.
    func loadMessage(_ id: String, conversationID: String, kind: String, for viewer: Viewer, in db: Database) throws -> Message? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT \(Self.messageColumns) FROM messages WHERE id = ? AND conversation_id = ? AND deleted_at IS NULL
            """), arguments: [id, conversationID]) else { return nil }
        let roster = try Roster.load(conversationID, kind: kind, for: viewer, cipher: appliance.cipher, in: db)
        return try message(row, roster: roster, for: viewer)
    }

    /// Cursors are opaque to clients: "m1." + the seq to read below, base64url.
    static func cursor(_ seq: Int64) -> String { Data("m1.\(seq)".utf8).base64URLEncodedString() }

    static func position(_ cursor: String) -> Int64? {
        guard cursor.utf8.count <= 64 else { return nil }
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8), text.hasPrefix("m1."),
              let seq = Int64(text.dropFirst(3)), seq > 0 else { return nil }
        return seq
    }

    /// A page of the conversation's messages, newest first: those below
    /// `cursor` (from the newest without one), at most `limit` (1–100). The
    /// access decision and the read are one database read; the audit entry
    /// of the read is durable before the answer.
    public func messages(_ identity: Identity, conversationID: String, cursor: String?, limit: Int,
                         origin: RequestOrigin) async throws -> MessagePage {
        let viewer = Viewer(identity)
        let (page, access): (MessagePage, ConversationAccess)
        do {
            (page, access) = try await appliance.database.read { db in
                let access = try AccessPolicy.conversation(identity, conversationID, in: db)
                var problems: [String: String] = [:]
                var below: Int64?
                if let cursor {
                    below = Self.position(cursor)
                    if below == nil { problems["cursor"] = "is not a cursor this server gave" }
                }
                if !(1...100).contains(limit) { problems["limit"] = "must be a whole number from 1 to 100" }
                guard problems.isEmpty else { throw Failure.invalid(problems) }
                let roster = try Roster.load(conversationID, kind: access.kind, for: viewer, cipher: appliance.cipher, in: db)
                let rows = try Row.fetchAll(db.cachedStatement(sql: """
                    SELECT \(Self.messageColumns) FROM messages
                    WHERE facility_id = ? AND conversation_id = ? AND seq < ? AND deleted_at IS NULL ORDER BY seq DESC LIMIT ?
                    """), arguments: [access.facilityID, conversationID, below ?? Int64.max, limit + 1])
                let messages = try rows.prefix(limit).map { try message($0, roster: roster, for: viewer) }
                let next = rows.count > limit ? messages.last.map { Self.cursor($0.seq) } : nil
                return (MessagePage(messages: messages, nextCursor: next), access)
            }
        } catch let error as AccessError {
            throw try await refused(error, "message.list", identity, conversationID: conversationID, origin: origin)
        }
        try await appliance.auditWriter.record(event("message.list", identity, access, origin,
                                                     details: ["count": String(page.messages.count)]))
        return page
    }
}
