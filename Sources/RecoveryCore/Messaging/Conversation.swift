import Foundation
import GRDB

/// A conversation as one viewer sees it: its participants (a group's
/// patients under their alias; to another patient without their id), the
/// newest message's seq and time, and the viewer's unread count.
public struct Conversation: Sendable, Equatable {
    public struct Participant: Sendable, Equatable {
        /// staff or patient
        public var kind: String
        /// nil when the viewer may not know who this is (another patient of a group).
        public var id: String?
        /// A staff member's name, a group patient's alias; nil for the patient of a care conversation.
        public var displayName: String?
        public var isMe: Bool
        public var leftAt: String?
        /// The seq of the last message this participant read (read receipts).
        public var lastReadSeq: Int64

        public var json: JSONValue {
            .object(["kind": .string(kind), "id": id.map { .string($0) } ?? .null, "display_name": displayName.map { .string($0) } ?? .null,
                     "is_me": .bool(isMe), "left_at": leftAt.map { .string($0) } ?? .null, "last_read_seq": .integer(Int(lastReadSeq))])
        }
    }

    public var id: String
    /// care, staff or group
    public var kind: String
    public var title: String?
    /// The patient of a care conversation.
    public var patientID: String?
    public var participants: [Participant]
    public var lastSeq: Int64
    public var lastMessageAt: String?
    public var unreadCount: Int
    public var createdAt: String

    /// The conversation as the API shows it.
    public var json: JSONValue {
        .object(["id": .string(id), "kind": .string(kind), "title": title.map { .string($0) } ?? .null,
                 "patient_id": patientID.map { .string($0) } ?? .null, "participants": .array(participants.map(\.json)),
                 "last_seq": .integer(Int(lastSeq)), "last_message_at": lastMessageAt.map { .string($0) } ?? .null,
                 "unread_count": .integer(unreadCount), "created_at": .string(createdAt)])
    }
}

/// The participants of one conversation as one viewer sees them, by
/// "staff:<id>" / "patient:<id>", for conversations and message senders.
struct Roster {
    var participants: [Conversation.Participant] = []
    var byKey: [String: Conversation.Participant] = [:]
    /// The viewer's own read marker, nil when the viewer is not a participant.
    var myLastReadSeq: Int64?

    static func key(_ kind: String, _ id: String) -> String { kind + ":" + id }

    static func load(_ conversationID: String, kind: String, for viewer: Viewer, cipher: FieldCipher, in db: Database) throws -> Roster {
        var roster = Roster()
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT cp.id, cp.participant_kind, cp.staff_id, cp.patient_id, cp.alias_enc, cp.left_at, cp.last_read_seq,
                   s.first_name_enc, s.last_name_enc
            FROM conversation_participants cp LEFT JOIN staff s ON s.id = cp.staff_id
            WHERE cp.conversation_id = ? ORDER BY cp.joined_at, cp.id
            """), arguments: [conversationID])
        for row in rows {
            let rowID: String = row["id"]
            let participantKind: String = row["participant_kind"]
            let personID: String = participantKind == "staff" ? row["staff_id"] : row["patient_id"]
            let isMe = participantKind == viewer.kind.rawValue && personID == viewer.id
            var id: String? = personID
            var name: String?
            if participantKind == "staff" {
                let staffID: String = row["staff_id"]
                let first = try cipher.openString(row["first_name_enc"], field: .staffFirstName, rowID: staffID)
                let last = try cipher.openString(row["last_name_enc"], field: .staffLastName, rowID: staffID)
                name = first + " " + last
            } else {
                name = try cipher.openString(optional: row["alias_enc"], field: .conversationParticipantsAlias, rowID: rowID)
                // Patients of a group know each other by alias only.
                if kind == "group", viewer.kind == .patient, !isMe { id = nil }
            }
            let participant = Conversation.Participant(kind: participantKind, id: id, displayName: name, isMe: isMe,
                                                       leftAt: row["left_at"], lastReadSeq: row["last_read_seq"])
            roster.participants.append(participant)
            roster.byKey[key(participantKind, personID)] = participant
            if isMe { roster.myLastReadSeq = participant.lastReadSeq }
        }
        return roster
    }
}

extension Messaging {
    /// Loads conversation `id` as `viewer` sees it.
    func loadConversation(_ id: String, for viewer: Viewer, in db: Database) throws -> Conversation {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT id, facility_id, kind, patient_id, subject_enc, last_seq, last_message_at, created_at FROM conversations WHERE id = ?
            """), arguments: [id]) else { throw Failure.notFound }
        let kind: String = row["kind"]
        let roster = try Roster.load(id, kind: kind, for: viewer, cipher: appliance.cipher, in: db)
        let unread = try Self.unreadCount(conversationID: id, facilityID: row["facility_id"], for: viewer,
                                          after: roster.myLastReadSeq ?? 0, in: db)
        return Conversation(id: id, kind: kind, title: try appliance.cipher.openString(optional: row["subject_enc"], field: .conversationsSubject, rowID: id),
                            patientID: row["patient_id"], participants: roster.participants, lastSeq: row["last_seq"],
                            lastMessageAt: row["last_message_at"], unreadCount: unread, createdAt: row["created_at"])
    }

    /// Others' live messages after the viewer's read marker.
    static func unreadCount(conversationID: String, facilityID: String, for viewer: Viewer, after seq: Int64, in db: Database) throws -> Int {
        let notMine = viewer.notSender("m")
        return try Int.fetchOne(db.cachedStatement(sql: """
            SELECT count(*) FROM messages m WHERE m.facility_id = ? AND m.conversation_id = ? AND m.seq > ?
              AND m.deleted_at IS NULL AND \(notMine.sql)
            """), arguments: [facilityID, conversationID, seq] + notMine.arguments) ?? 0
    }

    /// The viewer's unread messages over every conversation the policy lets them read.
    static func totalUnread(_ identity: Identity, in db: Database) throws -> Int {
        let viewer = Viewer(identity)
        let scope = try AccessPolicy.conversationList(identity)
        let me = viewer.participant("me")
        let notMine = viewer.notSender("m")
        return try Int.fetchOne(db.cachedStatement(sql: """
            SELECT coalesce(sum((SELECT count(*) FROM messages m WHERE m.facility_id = c.facility_id AND m.conversation_id = c.id
                                   AND m.seq > me.last_read_seq AND m.deleted_at IS NULL AND \(notMine.sql))), 0)
            FROM conversation_participants me JOIN conversations c ON c.id = me.conversation_id
            WHERE \(me.sql) AND me.left_at IS NULL AND \(scope.sql)
            """), arguments: notMine.arguments + me.arguments + scope.arguments) ?? 0
    }
}
