import Foundation
import GRDB

/// The durable feed of realtime events (`realtime_events`). Writers append
/// inside the transaction of the change and ring `EventBus` after it
/// committed; readers page through it by seq, so nothing a socket missed
/// while away or slow is lost within the resume window.
public enum EventFeed {
    /// How long events stay readable for a socket resuming with `since`.
    public static let resumeWindowSeconds: TimeInterval = 7 * 86_400

    /// Appends `event` in the caller's transaction; answers it with its seq and time.
    @discardableResult
    public static func append(_ event: RealtimeEvent, in db: Database) throws -> RealtimeEvent {
        let stamp = Timestamp.now()
        let data = JSONValue.object(event.data.mapValues { .string($0) }).canonicalText
        try db.execute(sql: """
            INSERT INTO realtime_events (facility_id, kind, patient_id, subject_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?)
            """, arguments: [event.facilityID, event.kind.rawValue, event.patientID, event.subjectID, data, stamp])
        var stored = event
        stored.seq = db.lastInsertedRowID
        stored.createdAt = stamp
        return stored
    }

    /// Events after `seq`, oldest first, at most `limit`; `facilityID` nil reads every facility.
    public static func events(after seq: Int64, facilityID: String?, limit: Int = 500, in db: Database) throws -> [RealtimeEvent] {
        let rows: [Row]
        if let facilityID {
            rows = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM realtime_events WHERE facility_id = ? AND seq > ? ORDER BY seq LIMIT ?
                """), arguments: [facilityID, seq, limit])
        } else {
            rows = try Row.fetchAll(db.cachedStatement(sql: "SELECT * FROM realtime_events WHERE seq > ? ORDER BY seq LIMIT ?"),
                                    arguments: [seq, limit])
        }
        return rows.compactMap(Self.event)
    }

    /// Events of every facility after `seq`, oldest first (the delivery loop).
    public static func events(after seq: Int64, limit: Int = 500, in db: Database) throws -> [RealtimeEvent] {
        try events(after: seq, facilityID: nil, limit: limit, in: db)
    }

    /// The newest seq ever appended (0 for a feed never written), also once pruning emptied the feed.
    public static func lastSeq(in db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'realtime_events'") ?? 0
    }

    /// Whether some event after `seq` is no longer kept: a reader resuming there has missed something for good.
    public static func hasPruned(after seq: Int64, in db: Database) throws -> Bool {
        let oldest = try Int64.fetchOne(db, sql: "SELECT min(seq) FROM realtime_events") ?? lastSeq(in: db) + 1
        return oldest > seq + 1
    }

    /// Removes events older than the resume window; answers how many.
    @discardableResult
    public static func prune(now: Date = Date(), in db: Database) throws -> Int {
        try db.execute(sql: "DELETE FROM realtime_events WHERE created_at < ?",
                       arguments: [Timestamp.string(now.addingTimeInterval(-resumeWindowSeconds))])
        return db.changesCount
    }

    static func event(_ row: Row) -> RealtimeEvent? {
        guard let kind = RealtimeEvent.Kind(rawValue: row["kind"]) else { return nil }
        var data: [String: String] = [:]
        let text: String = row["data"]
        if case .object(let members)? = try? JSONParser.parse(Array(text.utf8)) {
            for (key, value) in members { if case .string(let string) = value { data[key] = string } }
        }
        return RealtimeEvent(kind: kind, facilityID: row["facility_id"], patientID: row["patient_id"], subjectID: row["subject_id"],
                             data: data, seq: row["seq"], createdAt: row["created_at"])
    }
}
