import Foundation
import GRDB

/// Sending a message and marking messages read.
extension Messaging {
    /// The caller's read marker after `markRead`, with their unread counts.
    public struct ReadState: Sendable, Equatable {
        public var conversationID: String
        public var lastReadSeq: Int64
        public var unreadCount: Int
        public var totalUnread: Int

        public var json: JSONValue {
            .object(["conversation_id": .string(conversationID), "last_read_seq": .integer(Int(lastReadSeq)),
                     "unread_count": .integer(unreadCount), "total_unread": .integer(totalUnread)])
        }
    }

    /// Sends `body` to the conversation. With a `clientID`, a retry stores the
    /// message once: the same client id and body in the same conversation
    /// answer the stored message (`replayed`), the same client id with
    /// anything else is `Failure.clientIDConflict`. The message, its audit
    /// entry and its `message:new` feed event commit together; the event bus
    /// rings after the commit.
    public func send(_ identity: Identity, conversationID: String, body: String, clientID: String?,
                     origin: RequestOrigin) async throws -> (message: Message, replayed: Bool) {
        let viewer = Viewer(identity)
        let cipher = appliance.cipher
        let result: (Message, Bool, [RealtimeEvent])
        do {
            result = try await appliance.commits.write { db in
                let access = try AccessPolicy.conversation(identity, conversationID, in: db)
                var problems: [String: String] = [:]
                if body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    problems["body"] = "must not be empty"
                } else if body.unicodeScalars.count > Self.maxBodyLength {
                    problems["body"] = "must be at most \(Self.maxBodyLength) characters"
                }
                if let clientID, clientID.isEmpty || clientID.unicodeScalars.count > Self.maxClientIDLength
                    || clientID.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                    problems["client_id"] = "must be 1 to \(Self.maxClientIDLength) characters without control characters"
                }
                guard problems.isEmpty else { throw Failure.invalid(problems) }
                let senderColumn = identity.kind == .staff ? "sender_staff_id" : "sender_patient_id"
                if let clientID, let stored = try Row.fetchOne(db, sql: """
                    SELECT id, conversation_id, body_enc FROM messages WHERE \(senderColumn) = ? AND client_message_id = ?
                    """, arguments: [identity.subjectID, clientID]) {
                    let id: String = stored["id"]
                    guard (stored["conversation_id"] as String) == conversationID,
                          try cipher.openString(stored["body_enc"], field: .messagesBody, rowID: id) == body,
                          let message = try loadMessage(id, conversationID: conversationID, kind: access.kind, for: viewer, in: db)
                    else { throw Failure.clientIDConflict }
                    try appliance.audit.append(event("message.send", identity, access, origin,
                                                     details: ["message_id": id, "replayed": "true"]), in: db)
                    return (message, true, [])
                }
                let stamp = Timestamp.now()
                guard let seq = try Int64.fetchOne(db, sql: """
                    UPDATE conversations SET last_seq = last_seq + 1, last_message_at = ?, updated_at = ? WHERE id = ? RETURNING last_seq
                    """, arguments: [stamp, stamp, conversationID]) else { throw Failure.notFound }
                let id = RowID.make()
                try db.execute(sql: """
                    INSERT INTO messages (id, facility_id, conversation_id, seq, sender_kind, \(senderColumn), body_enc, client_message_id,
                                          created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, access.facilityID, conversationID, seq, identity.kind.rawValue, identity.subjectID,
                                     cipher.seal(body, field: .messagesBody, rowID: id), clientID, stamp, stamp])
                try appliance.audit.append(event("message.send", identity, access, origin, details: ["message_id": id, "seq": String(seq)]), in: db)
                try SyncChangeLog.messageSent(id, conversationID: conversationID, facilityID: access.facilityID, at: stamp, in: db)
                let feed = try EventFeed.append(RealtimeEvent(kind: .messageNew, facilityID: access.facilityID, patientID: access.patientID,
                                                              subjectID: id, data: ["conversation_id": conversationID]), in: db)
                guard let message = try loadMessage(id, conversationID: conversationID, kind: access.kind, for: viewer, in: db) else {
                    throw Failure.notFound
                }
                return (message, false, [feed])
            }
        } catch let error as AccessError {
            throw try await refused(error, "message.send", identity, conversationID: conversationID, origin: origin)
        }
        appliance.events.publish(result.2)
        return (result.0, result.1)
    }

    /// Moves the caller's read marker up to the message `upToMessageID` of
    /// this conversation (never back). A move appends `message:read` (for read
    /// receipts and the reader's other devices) in the same transaction.
    public func markRead(_ identity: Identity, conversationID: String, upToMessageID: String,
                         origin: RequestOrigin) async throws -> ReadState {
        let viewer = Viewer(identity)
        let result: (ReadState, [RealtimeEvent])
        do {
            result = try await appliance.commits.write { db in
                let access = try AccessPolicy.conversation(identity, conversationID, in: db)
                guard let messageID = Self.uuid(upToMessageID),
                      let seq = try Int64.fetchOne(db, sql: """
                          SELECT seq FROM messages WHERE id = ? AND facility_id = ? AND conversation_id = ? AND deleted_at IS NULL
                          """, arguments: [messageID, access.facilityID, conversationID])
                else { throw Failure.invalid("up_to_message_id", "is not a message of this conversation") }
                let me = viewer.participant("conversation_participants")
                let stamp = Timestamp.now()
                try db.execute(sql: """
                    UPDATE conversation_participants SET last_read_seq = ?, last_read_at = ?
                    WHERE conversation_id = ? AND \(me.sql) AND last_read_seq < ?
                    """, arguments: [seq, stamp, conversationID] + me.arguments + [seq])
                var events: [RealtimeEvent] = []
                if db.changesCount > 0 {
                    events.append(try EventFeed.append(RealtimeEvent(
                        kind: .messageRead, facilityID: access.facilityID, patientID: access.patientID, subjectID: conversationID,
                        data: ["reader_kind": identity.kind.rawValue, "reader_id": identity.subjectID, "up_to_message_id": messageID,
                               "up_to_seq": String(seq)]), in: db))
                }
                let marker = try Int64.fetchOne(db, sql: "SELECT last_read_seq FROM conversation_participants WHERE conversation_id = ? AND \(me.sql)",
                                                arguments: [conversationID] + me.arguments) ?? 0
                let unread = try Self.unreadCount(conversationID: conversationID, facilityID: access.facilityID, for: viewer, after: marker, in: db)
                return (ReadState(conversationID: conversationID, lastReadSeq: marker, unreadCount: unread,
                                  totalUnread: try Self.totalUnread(identity, in: db)), events)
            }
        } catch let error as AccessError {
            throw try await refused(error, "message.read", identity, conversationID: conversationID, origin: origin)
        }
        appliance.events.publish(result.1)
        return result.0
    }
}
