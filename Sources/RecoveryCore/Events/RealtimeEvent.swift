import Foundation

/// Something someone should see at once: a message, a crisis alert and each
/// of its steps, an announcement, a new check-in or craving, a flag. Ids and
/// codes only, never PHI: what each recipient sees is read from the record,
/// through the access policy, when the event is delivered. Stored in the
/// durable feed (`EventFeed`) in the same transaction as the change; its
/// `seq` is the event's id.
public struct RealtimeEvent: Sendable, Equatable {
    /// The server-to-client event names (the AsyncAPI document lists each
    /// with its payload and recipients).
    public enum Kind: String, CaseIterable, Sendable {
        case messageNew = "message:new"
        case messageRead = "message:read"
        case announcementNew = "announcement:new"
        case crisisAlert = "crisis:alert"
        case crisisAcknowledged = "crisis:acknowledged"
        case crisisResolved = "crisis:resolved"
        case crisisEscalated = "crisis:escalated"
        case checkInNew = "checkin:new"
        case cravingNew = "craving:new"
        case patientFlagged = "patient:flagged"
    }

    /// Events sent but not kept in the feed: a recipient's own unread counts
    /// (derived from `message:new` and `message:read`), typing notices, and
    /// `resync`, told to a socket resuming from before the feed's window.
    public static let conversationUnread = "conversation:unread"
    public static let typing = "typing"
    public static let resync = "resync"

    /// Every server-to-client event name.
    public static var allNames: [String] { Kind.allCases.map(\.rawValue) + [conversationUnread, typing, resync] }

    /// The feed's sequence number; 0 until appended.
    public var seq: Int64
    public var kind: Kind
    public var facilityID: String
    /// The patient the event is about, if any.
    public var patientID: String?
    /// The record: the message, alert, announcement, check-in, craving or flag.
    public var subjectID: String
    /// Further ids and codes (e.g. a conversation id, a flag kind, an escalation level).
    public var data: [String: String]
    public var createdAt: String

    public init(kind: Kind, facilityID: String, patientID: String?, subjectID: String, data: [String: String] = [:],
                seq: Int64 = 0, createdAt: String = "") {
        self.seq = seq
        self.kind = kind
        self.facilityID = facilityID
        self.patientID = patientID
        self.subjectID = subjectID
        self.data = data
        self.createdAt = createdAt
    }
}
