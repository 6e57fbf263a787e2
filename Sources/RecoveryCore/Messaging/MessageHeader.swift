import GRDB

extension Messaging {
    /// A message's header as a sync pull shows it to `reader` (who sent it,
    /// when, in which conversation; no body), or nil when the conversation
    /// rule no longer admits them (they left, or the message is gone).
    func header(_ messageID: String, for reader: Identity, in db: Database) throws -> JSONValue? {
        guard let conversationID = try String.fetchOne(db.cachedStatement(sql: "SELECT conversation_id FROM messages WHERE id = ?"),
                                                       arguments: [messageID]),
              let access = try Self.admits(reader, conversationID, in: db),
              let message = try loadMessage(messageID, conversationID: conversationID, kind: access.kind, for: Viewer(reader), in: db),
              case .object(var members) = message.json else { return nil }
        members["body"] = nil
        return .object(members)
    }
}
