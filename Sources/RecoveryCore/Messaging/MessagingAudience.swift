import Foundation
import GRDB

/// Who receives `message:new` and `message:read`, decided by the
/// conversation rule for each listener's identity (the same decision as a
/// REST read of the conversation, taken when the event is delivered):
///
/// - `message:new`: each listener the rule admits gets the message as the API
///   shows it to them, body included (`phi`: the hub audits the delivery),
///   and a `conversation:unread` with their unread count in the conversation
///   and in all.
/// - `message:read`: each admitted listener gets the read receipt (who, up to
///   which message); the reader's own listeners also get `conversation:unread`.
///
/// `conversation:unread` is a delivery name, not a feed kind.
struct MessagingAudience: EventAudience {
    static let unreadName = "conversation:unread"

    let messaging: Messaging
    let kinds: Set<RealtimeEvent.Kind> = [.messageNew, .messageRead]

    init(appliance: Appliance) {
        messaging = Messaging(appliance: appliance)
    }

    func deliveries(of event: RealtimeEvent, to listeners: [Listener], in db: Database) throws -> [Delivery] {
        let conversationID = event.kind == .messageNew ? event.data["conversation_id"] : event.subjectID
        guard let conversationID else { return [] }
        let eventID = JSONValue.integer(Int(event.seq))
        var deliveries: [Delivery] = []
        for listener in listeners {
            guard let access = try Messaging.admits(listener.identity, conversationID, in: db) else { continue }
            let viewer = Viewer(listener.identity)
            let showUnread: Bool
            switch event.kind {
            case .messageNew:
                guard let message = try messaging.loadMessage(event.subjectID, conversationID: conversationID, kind: access.kind,
                                                              for: viewer, in: db) else { continue }
                deliveries.append(Delivery(listenerKey: listener.key, name: event.kind.rawValue, payload: .object([
                    "event_id": eventID, "conversation_id": .string(conversationID), "message": message.json]), phi: true))
                showUnread = true
            default:
                guard let readerKind = event.data["reader_kind"], let readerID = event.data["reader_id"] else { continue }
                let roster = try Roster.load(conversationID, kind: access.kind, for: viewer, cipher: messaging.appliance.cipher, in: db)
                let reader = roster.byKey[Roster.key(readerKind, readerID)]
                deliveries.append(Delivery(listenerKey: listener.key, name: event.kind.rawValue, payload: .object([
                    "event_id": eventID, "conversation_id": .string(conversationID),
                    "reader": reader?.json ?? .null,
                    "up_to_message_id": event.data["up_to_message_id"].map { .string($0) } ?? .null,
                    "last_read_seq": event.data["up_to_seq"].flatMap { Int($0) }.map { .integer($0) } ?? .null])))
                showUnread = viewer.kind.rawValue == readerKind && viewer.id == readerID
            }
            if showUnread {
                let marker = try Int64.fetchOne(db, sql: """
                    SELECT last_read_seq FROM conversation_participants cp WHERE cp.conversation_id = ? AND \(viewer.participant("cp").sql)
                    """, arguments: [conversationID] + viewer.participant("cp").arguments) ?? 0
                let unread = try Messaging.unreadCount(conversationID: conversationID, facilityID: access.facilityID, for: viewer,
                                                       after: marker, in: db)
                deliveries.append(Delivery(listenerKey: listener.key, name: Self.unreadName, payload: .object([
                    "event_id": eventID, "conversation_id": .string(conversationID), "unread_count": .integer(unread),
                    "total_unread": .integer(try Messaging.totalUnread(listener.identity, in: db))])))
            }
        }
        return deliveries
    }
}
