import Foundation
import GRDB

/// Offline-first sync for the patient app. A push applies a batch of items
/// in one transaction; each item is idempotent on (patient, client item id):
/// the same payload again answers `duplicate`, a changed payload updates the
/// record (last writer wins, by server receipt), a bad item is `rejected`
/// with a reason naming the field and never sinks the batch. Every stored
/// change is appended to `sync_changes`, which a pull pages through with an
/// opaque cursor.
///
/// Check-ins are the first record type; the others of the sync protocol
/// (cravings, meeting attendance, medication doses, goal progress, journal
/// entries) are answered `rejected` with "unsupported type" until added.
public struct SyncEngine: Sendable {
    public struct Item: Sendable {
        public var id: String
        public var type: String
        public var op: String
        public var clientUpdatedAt: String?
        public var data: [String: JSONValue]

        public init(id: String, type: String, op: String, clientUpdatedAt: String?, data: [String: JSONValue]) {
            self.id = id
            self.type = type
            self.op = op
            self.clientUpdatedAt = clientUpdatedAt
            self.data = data
        }
    }

    public struct Result: Sendable, Equatable {
        public enum Status: String, Sendable { case stored, duplicate, rejected }
        public var id: String
        public var status: Status
        public var reason: String?
    }

    public struct Change: Sendable, Equatable {
        public var type: String
        public var id: String
        public var op: String
        public var updatedAt: String
        public var data: [String: JSONValue]?
    }

    public struct PullPage: Sendable {
        public var changes: [Change]
        public var cursor: String
        public var hasMore: Bool
    }

    public static let types = ["check_in", "craving", "meeting_attendance", "medication_dose", "goal_progress", "journal_entry"]

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    /// Applies `items` for the signed-in patient; answers one result per item, in order.
    public func push(patientID: String, facilityID: String, items: [Item]) async throws -> (results: [Result], cursor: String) {
        try await appliance.database.pool.write { db in
            let results = try items.map { item in try apply(item, patientID: patientID, facilityID: facilityID, in: db) }
            let cursor = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM sync_changes WHERE patient_id = ?", arguments: [patientID]) ?? 0
            return (results, Self.cursor(cursor))
        }
    }

    func apply(_ item: Item, patientID: String, facilityID: String, in db: Database) throws -> Result {
        func rejected(_ reason: String) -> Result { Result(id: item.id, status: .rejected, reason: reason) }
        guard let uuid = UUID(uuidString: item.id) else { return rejected("id: must be a UUID made by the app") }
        let id = uuid.uuidString.lowercased()
        guard Self.types.contains(item.type) else { return rejected("type: must be one of " + Self.types.joined(separator: ", ")) }
        guard item.op == "upsert" || item.op == "delete" else { return rejected("op: must be upsert or delete") }
        if let clientTime = item.clientUpdatedAt, Timestamp.parse(clientTime) == nil {
            return rejected("client_updated_at: must be an RFC 3339 time")
        }
        if case .string(let claimed)? = item.data["patient_id"], claimed.lowercased() != patientID {
            return rejected("patient_id: a patient may sync only their own records")
        }
        guard item.type == "check_in" else { return rejected("type: \(item.type) is not supported by this server yet") }
        let payloadHash = appliance.blindIndex.syncPayloadDigest(
            Array((item.op + "\u{0}" + (item.clientUpdatedAt ?? "") + "\u{0}" + JSONValue.object(item.data).canonicalText).utf8))
        let previous = try Row.fetchOne(db, sql: "SELECT payload_hash, item_type FROM sync_idempotency WHERE patient_id = ? AND client_item_id = ?",
                                        arguments: [patientID, id])
        if let previous, (previous["payload_hash"] as Data) == payloadHash { return Result(id: id, status: .duplicate) }
        if let previous, (previous["item_type"] as String) != item.type { return rejected("id: already used for a \(previous["item_type"] as String)") }

        let outcome: Result
        if item.op == "delete" {
            outcome = try deleteCheckIn(id, patientID: patientID, facilityID: facilityID, in: db)
        } else {
            let input: CheckInInput
            do {
                input = try CheckInInput.parse(item.data)
            } catch let problem as CheckInInput.Problem {
                return rejected(problem.reason)
            }
            outcome = try upsertCheckIn(id, input, clientUpdatedAt: item.clientUpdatedAt, patientID: patientID, facilityID: facilityID, in: db)
        }
        guard outcome.status == .stored else { return outcome }
        try db.execute(sql: """
            INSERT INTO sync_idempotency (patient_id, client_item_id, facility_id, item_type, payload_hash, status, record_id)
            VALUES (?, ?, ?, ?, ?, 'stored', ?)
            ON CONFLICT (patient_id, client_item_id) DO UPDATE SET payload_hash = excluded.payload_hash, created_at = excluded.created_at
            """, arguments: [patientID, id, facilityID, item.type, payloadHash, id])
        return outcome
    }

    func upsertCheckIn(_ id: String, _ input: CheckInInput, clientUpdatedAt: String?, patientID: String, facilityID: String,
                       in db: Database) throws -> Result {
        let existing = try Row.fetchOne(db, sql: "SELECT patient_id, deleted_at FROM patient_check_ins WHERE id = ?", arguments: [id])
        if let existing, (existing["patient_id"] as String) != patientID { return Result(id: id, status: .rejected, reason: "id: already used") }
        // One check-in per patient per local day: the first one stored wins;
        // the app changes it by sending the same id again.
        let sameDay = try String.fetchOne(db, sql: """
            SELECT id FROM patient_check_ins WHERE patient_id = ? AND local_date = ? AND deleted_at IS NULL AND id <> ?
            """, arguments: [patientID, input.localDate, id])
        if sameDay != nil {
            return Result(id: id, status: .rejected, reason: "local_date: a check-in for \(input.localDate) already exists; send its id to change it")
        }
        let now = Timestamp.now()
        let note = appliance.cipher.seal(optional: input.note, field: .patientCheckInsNote, rowID: id)
        let values: [(any DatabaseValueConvertible)?] = [
            input.localDate, input.timezone, input.mood, input.craving, input.stress, input.confidence, input.usedSinceLast,
            input.hungry, input.angry, input.lonely, input.tired, input.sleepHours, input.energy, note, clientUpdatedAt, now,
        ]
        if existing == nil {
            try db.execute(sql: """
                INSERT INTO patient_check_ins (local_date, timezone, mood, craving, stress, confidence, used_since_last, halt_hungry,
                    halt_angry, halt_lonely, halt_tired, sleep_hours, energy, note_enc, client_updated_at, updated_at,
                    id, facility_id, patient_id, checked_in_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: StatementArguments(values + [id, facilityID, patientID, clientUpdatedAt ?? now, now]))
        } else {
            try db.execute(sql: """
                UPDATE patient_check_ins SET local_date = ?, timezone = ?, mood = ?, craving = ?, stress = ?, confidence = ?,
                    used_since_last = ?, halt_hungry = ?, halt_angry = ?, halt_lonely = ?, halt_tired = ?, sleep_hours = ?, energy = ?,
                    note_enc = ?, client_updated_at = ?, updated_at = ?, deleted_at = NULL
                WHERE id = ?
                """, arguments: StatementArguments(values + [id]))
        }
        try recordChange(id, op: "upsert", patientID: patientID, facilityID: facilityID, in: db)
        return Result(id: id, status: .stored)
    }

    func deleteCheckIn(_ id: String, patientID: String, facilityID: String, in db: Database) throws -> Result {
        try db.execute(sql: "UPDATE patient_check_ins SET deleted_at = ?, updated_at = ? WHERE id = ? AND patient_id = ? AND deleted_at IS NULL",
                       arguments: [Timestamp.now(), Timestamp.now(), id, patientID])
        guard db.changesCount == 1 else { return Result(id: id, status: .rejected, reason: "id: no such check-in") }
        try recordChange(id, op: "delete", patientID: patientID, facilityID: facilityID, in: db)
        return Result(id: id, status: .stored)
    }

    func recordChange(_ id: String, op: String, patientID: String, facilityID: String, in db: Database) throws {
        try db.execute(sql: "INSERT INTO sync_changes (facility_id, patient_id, record_type, record_id, op, changed_at) VALUES (?, ?, 'patient_check_ins', ?, ?, ?)",
                       arguments: [facilityID, patientID, id, op, Timestamp.now()])
    }

    /// Everything that changed for the patient since `cursor`, oldest first;
    /// a record changed several times appears once, in its latest state.
    public func pull(patientID: String, since cursor: String?, limit: Int = 200) async throws -> PullPage {
        let after = try cursor.map(Self.position) ?? 0
        return try await appliance.database.pool.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT seq, record_type, record_id, op, changed_at FROM sync_changes
                WHERE patient_id = ? AND seq > ? ORDER BY seq LIMIT ?
                """, arguments: [patientID, after, limit + 1])
            let page = rows.prefix(limit)
            var latest: [String: Row] = [:]
            for row in page { latest[row["record_id"]] = row }
            var changes: [Change] = []
            for row in page where latest[row["record_id"] as String]?["seq"] as Int64? == row["seq"] as Int64 {
                let id: String = row["record_id"]
                let op: String = row["op"]
                changes.append(Change(type: "check_in", id: id, op: op, updatedAt: row["changed_at"],
                                      data: op == "delete" ? nil : try checkInData(id, in: db)))
            }
            let last = page.last.map { $0["seq"] as Int64 } ?? after
            return PullPage(changes: changes, cursor: Self.cursor(last), hasMore: rows.count > limit)
        }
    }

    func checkInData(_ id: String, in db: Database) throws -> [String: JSONValue]? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM patient_check_ins WHERE id = ?", arguments: [id]) else { return nil }
        func int(_ column: String) -> JSONValue { (row[column] as Int?).map(JSONValue.integer) ?? .null }
        func bool(_ column: String) -> JSONValue { .bool(row[column] as Bool) }
        return [
            "local_date": .string(row["local_date"]), "timezone": .string(row["timezone"]), "mood": int("mood"),
            "craving": int("craving"), "stress": int("stress"), "confidence": int("confidence"), "energy": int("energy"),
            "used_since_last": bool("used_since_last"),
            "halt": .object(["hungry": bool("halt_hungry"), "angry": bool("halt_angry"), "lonely": bool("halt_lonely"), "tired": bool("halt_tired")]),
            "sleep_hours": (row["sleep_hours"] as Double?).map(JSONValue.number) ?? .null,
            "note": try appliance.cipher.openString(optional: row["note_enc"], field: .patientCheckInsNote, rowID: id).map(JSONValue.string) ?? .null,
        ]
    }

    /// Cursors are opaque to the app: "v1." + the change sequence, base64url.
    static func cursor(_ seq: Int64) -> String { Data("v1.\(seq)".utf8).base64URLEncodedString() }

    public struct BadCursor: Error, Equatable, Sendable {}

    static func position(_ cursor: String) throws -> Int64 {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8), text.hasPrefix("v1."),
              let seq = Int64(text.dropFirst(3)), seq >= 0 else { throw BadCursor() }
        return seq
    }
}
