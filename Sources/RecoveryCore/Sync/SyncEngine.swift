import Foundation
import GRDB
import Metrics

/// Offline-first sync for the patient app.
///
/// A push applies a batch of items in one transaction (shared with other
/// pushes through `GroupCommit`) and answers only after it committed. Each
/// item is idempotent on (patient, client item id): the same payload again
/// answers `duplicate`; a changed payload updates the record, last writer
/// wins by server receipt, except that an item older (by its
/// `client_updated_at`) than the stored version is refused, so a delayed
/// retry never overwrites a newer edit. A bad item is `rejected` with a
/// reason naming the field and never sinks the batch: each item runs in its
/// own savepoint. Every stored change is appended to `sync_changes`, which a
/// pull pages through with an opaque cursor; goals and medications the care
/// team keeps are in the same feed and read-only to the app.
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
        public var problem: RecordProblem?
        /// The id is already used by another record (HTTP 409 for a single POST).
        public var conflict = false

        public var reason: String? { problem?.reason }

        static func rejected(_ id: String, _ field: String, _ issue: String, conflict: Bool = false) -> Result {
            Result(id: id, status: .rejected, problem: RecordProblem(field, issue), conflict: conflict)
        }
    }

    public struct Change: Sendable, Equatable {
        public var type: String
        public var id: String
        public var op: String
        public var updatedAt: String
        public var data: JSONValue?
    }

    public struct PullPage: Sendable {
        public var changes: [Change]
        public var cursor: String
        public var hasMore: Bool
    }

    /// The signed-in patient a push or pull is for: made only by the access
    /// policy from a patient's identity.
    public typealias Patient = OwnRecords

    public static var types: [String] { RecordKind.all.map(\.type) }
    /// Record types the care team keeps; the app receives them in pulls.
    public static let readOnlyTypes = ["goal": "patient_goals", "medication": "patient_medications"]

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    // MARK: Push

    /// Applies `items` for the patient; answers one result per item, in
    /// order, once everything stored is durable. What needs no database
    /// (field rules, the payload digest, encryption) is done first, on the
    /// request's own thread; only lookups and writes happen in the shared
    /// write transaction.
    public func push(_ patient: Patient, items: [Item], origin: RequestOrigin) async throws -> (results: [Result], cursor: String) {
        let now = Date()
        let prepared = items.map { prepare($0, patient: patient, now: now) }
        let (results, cursor, events) = try await appliance.commits.write(weight: items.count) { db -> ([Result], String, [RealtimeEvent]) in
            let (results, events) = try store(prepared, patient: patient, now: now, origin: origin, in: db)
            let seq = try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(seq) FROM sync_changes WHERE patient_id = ?"),
                                         arguments: [patient.id]) ?? 0
            return (results, Self.cursor(seq), events)
        }
        appliance.events.publish(events)
        Self.count(results)
        return (results, cursor)
    }

    /// Items the app pushed, by outcome (`/metrics`).
    static func count(_ results: [Result]) {
        for status in [Result.Status.stored, .duplicate, .rejected] {
            let number = results.filter { $0.status == status }.count
            if number > 0 { Counter(label: "recovery_sync_items_total", dimensions: [("outcome", status.rawValue)]).increment(by: number) }
        }
    }

    /// One record from the app (a single POST): a push of one item that
    /// also answers the record as stored, read in the same transaction.
    public func pushOne(_ patient: Patient, _ item: Item, origin: RequestOrigin) async throws -> (result: Result, record: JSONValue?) {
        let now = Date()
        let prepared = [prepare(item, patient: patient, now: now)]
        let cipher = appliance.cipher
        let (result, record, events) = try await appliance.commits.write { db -> (Result, JSONValue?, [RealtimeEvent]) in
            let (results, events) = try store(prepared, patient: patient, now: now, origin: origin, in: db)
            guard let kind = prepared[0].kind, results[0].status != .rejected else { return (results[0], nil, events) }
            return (results[0], try kind.load([results[0].id], patientID: patient.id, cipher: cipher, in: db)[results[0].id], events)
        }
        appliance.events.publish(events)
        Self.count([result])
        return (result, record)
    }

    /// Applies prepared items and audits the push, inside the write transaction.
    func store(_ prepared: [Prepared], patient: Patient, now: Date, origin: RequestOrigin,
               in db: Database) throws -> ([Result], [RealtimeEvent]) {
        let stamp = Timestamp.string(now)
        let settings = try RecoverySettings.load(facilityID: patient.facilityID, in: db)
        var events: [RealtimeEvent] = []
        let results = try prepared.map { item in
            try apply(item, patient: patient, settings: settings, now: now, stamp: stamp, events: &events, in: db)
        }
        let counts = Dictionary(grouping: results, by: \.status.rawValue).mapValues { String($0.count) }
        try appliance.audit.append(AuditEvent(
            action: "sync.push", outcome: .success, actorKind: .patient, actorID: patient.id, facilityID: patient.facilityID,
            resourceType: "patient_records", patientID: patient.id, ipAddress: origin.ipAddress, requestID: origin.requestID,
            details: counts), in: db)
        return (results, events)
    }

    /// An item checked as far as it can be without the database.
    struct Prepared: Sendable {
        var id: String
        var op: String
        var kind: RecordKind?
        /// Refused before any lookup (bad id, type, op, time, patient).
        var refusal: Result?
        var clientTime: String?
        var payloadHash = Data()
        /// The same item's fingerprint under the retiring key version, during a rotation.
        var olderPayloadHashes: [Data] = []
        /// The fields' column values, secret text already sealed to the row.
        var values: [String: DatabaseValue] = [:]
        /// A field rule the data breaks (answered unless the item is a duplicate).
        var problem: RecordProblem?
    }

    func prepare(_ item: Item, patient: Patient, now: Date) -> Prepared {
        guard let uuid = UUID(uuidString: item.id) else {
            return Prepared(id: item.id, op: item.op, refusal: .rejected(item.id, "id", "must be a UUID made by the app"))
        }
        let id = uuid.uuidString.lowercased()
        func refused(_ field: String, _ issue: String) -> Prepared {
            Prepared(id: id, op: item.op, refusal: .rejected(id, field, issue))
        }
        if Self.readOnlyTypes[item.type] != nil {
            return refused("type", "\(item.type) records are kept by the care team and read-only in the app")
        }
        guard let kind = RecordKind.named(item.type) else { return refused("type", "must be one of " + Self.types.joined(separator: ", ")) }
        guard item.op == "upsert" || item.op == "delete" else { return refused("op", "must be upsert or delete") }
        var prepared = Prepared(id: id, op: item.op, kind: kind)
        if let text = item.clientUpdatedAt {
            guard let date = Timestamp.parseStrict(text) else { return refused("client_updated_at", "must be an RFC 3339 time") }
            if date < RecordField.earliest { return refused("client_updated_at", "is too far in the past") }
            // A device clock ahead of the box's is pulled back to the time of receipt.
            prepared.clientTime = Timestamp.string(min(date, now))
        }
        if case .string(let claimed)? = item.data["patient_id"], claimed.lowercased() != patient.id {
            return refused("patient_id", "a patient may sync only their own records")
        }
        let hashes = appliance.blindIndex.syncPayloadDigests(
            Array((kind.type + "\u{0}" + item.op + "\u{0}" + (item.clientUpdatedAt ?? "") + "\u{0}" + JSONValue.object(item.data).canonicalText).utf8))
        prepared.payloadHash = hashes[0]
        prepared.olderPayloadHashes = Array(hashes.dropFirst())
        if item.op == "upsert" {
            do {
                var values = try kind.parseFields(item.data, now: now)
                for (column, field) in kind.secretColumns {
                    if let text = values[column].flatMap({ String.fromDatabaseValue($0) }) {
                        values[column] = appliance.cipher.seal(text, field: field, rowID: id).databaseValue
                    }
                }
                prepared.values = values
            } catch let problem as RecordProblem {
                prepared.problem = problem
            } catch {
                prepared.problem = RecordProblem("data", "could not be read")
            }
        }
        return prepared
    }

    /// One item, in its own savepoint: whatever goes wrong with it is rolled
    /// back and answered `rejected`; the rest of the batch goes on.
    func apply(_ item: Prepared, patient: Patient, settings: RecoverySettings, now: Date, stamp: String, events: inout [RealtimeEvent],
               in db: Database) throws -> Result {
        if let refusal = item.refusal { return refusal }
        var result = Result(id: item.id, status: .rejected)
        var newEvents: [RealtimeEvent] = []
        do {
            try db.inSavepoint {
                result = try applyChecked(item, patient: patient, settings: settings, now: now, stamp: stamp, events: &newEvents, in: db)
                return result.status == .stored ? .commit : .rollback
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            return .rejected(item.id, "data", "does not fit the record's rules")
        }
        if result.status == .stored { events += newEvents }
        return result
    }

    func applyChecked(_ item: Prepared, patient: Patient, settings: RecoverySettings, now: Date, stamp: String,
                      events: inout [RealtimeEvent], in db: Database) throws -> Result {
        guard let kind = item.kind else { return .rejected(item.id, "type", "is unknown") }
        // Without a time from the app, the edit is as of its receipt.
        let id = item.id, clientTime = item.clientTime ?? stamp
        let previous = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT payload_hash, item_type FROM sync_idempotency WHERE patient_id = ? AND client_item_id = ?
            """), arguments: [patient.id, id])
        if let previous, (previous["item_type"] as String) != kind.type {
            return .rejected(id, "id", "already used for a \(previous["item_type"] as String)", conflict: true)
        }
        if let previous, case let stored = previous["payload_hash"] as Data, stored == item.payloadHash || item.olderPayloadHashes.contains(stored) {
            return Result(id: id, status: .duplicate)
        }
        if let problem = item.problem { return Result(id: id, status: .rejected, problem: problem) }
        let locked = kind.lockedCondition ?? "0"
        let existing = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT patient_id, client_updated_at, (\(locked)) AS locked FROM \(kind.table) WHERE id = ?
            """), arguments: [id])
        if let existing {
            if (existing["patient_id"] as String) != patient.id { return .rejected(id, "id", "already used", conflict: true) }
            if let stored = existing["client_updated_at"] as String?, clientTime < stored {
                return .rejected(id, "client_updated_at", "older than the version already stored; pull to get it")
            }
            if existing["locked"] as Bool { return .rejected(id, "id", "confirmed by the care team; it can no longer be changed in the app") }
        }
        var goals: Set<String> = []
        if kind.type == RecordKind.goalProgress.type, let before = try String.fetchOne(db.cachedStatement(sql: "SELECT goal_id FROM goal_progress WHERE id = ?"),
                                                                                        arguments: [id]) {
            goals.insert(before)
        }
        if item.op == "delete" {
            try db.cachedStatement(sql: "UPDATE \(kind.table) SET deleted_at = ?, updated_at = ?, client_updated_at = ? WHERE id = ? AND deleted_at IS NULL")
                .execute(arguments: [stamp, stamp, clientTime, id])
            guard existing != nil, db.changesCount == 1 else { return .rejected(id, "id", "no such \(kind.type) to delete") }
        } else {
            let context = RecordKind.Context(patientID: patient.id, facilityID: patient.facilityID, settings: settings, now: now,
                                             stamp: stamp, clientUpdatedAt: clientTime, recordID: id)
            var values = item.values
            do {
                try kind.check(&values, context, db)
            } catch let problem as RecordProblem {
                return Result(id: id, status: .rejected, problem: problem)
            }
            try write(kind, id: id, values: values, exists: existing != nil, clientTime: clientTime, stamp: stamp, patient: patient, in: db)
            if kind.type == RecordKind.goalProgress.type, let goalID = String.fromDatabaseValue(values["goal_id"]!) { goals.insert(goalID) }
            for flag in try FlagRules.raise(FlagRules.flags(for: kind, values, settings: settings), table: kind.table, recordID: id,
                                            facilityID: patient.facilityID, patientID: patient.id, in: db) {
                events.append(try EventFeed.append(RealtimeEvent(kind: .patientFlagged, facilityID: patient.facilityID, patientID: patient.id,
                                                                 subjectID: flag.id, data: ["flag_kind": flag.kind]), in: db))
            }
            if existing == nil, let recorded = Self.recordedEvent[kind.type] {
                events.append(try EventFeed.append(RealtimeEvent(kind: recorded, facilityID: patient.facilityID, patientID: patient.id,
                                                                 subjectID: id), in: db))
            }
        }
        for goalID in goals.sorted() {
            try CarePlanRecords.refreshProgress(goalID: goalID, now: stamp, in: db)
            try recordChange("patient_goals", goalID, op: "upsert", patient: patient, at: stamp, in: db)
        }
        try recordChange(kind.table, id, op: item.op, patient: patient, at: stamp, in: db)
        try db.cachedStatement(sql: """
            INSERT INTO sync_idempotency (patient_id, client_item_id, facility_id, item_type, payload_hash, status, record_id)
            VALUES (?, ?, ?, ?, ?, 'stored', ?)
            ON CONFLICT (patient_id, client_item_id) DO UPDATE SET payload_hash = excluded.payload_hash, created_at = excluded.created_at
            """).execute(arguments: [patient.id, id, patient.facilityID, kind.type, item.payloadHash, id])
        return Result(id: id, status: .stored)
    }

    static let recordedEvent: [String: RealtimeEvent.Kind] = ["check_in": .checkInNew, "craving": .cravingNew]

    /// Inserts or rewrites the record: every field is set from the item (a
    /// field left out becomes empty); secret text arrives sealed to this row.
    func write(_ kind: RecordKind, id: String, values: [String: DatabaseValue], exists: Bool, clientTime: String?, stamp: String,
               patient: Patient, in db: Database) throws {
        var columns: [String] = []
        var arguments: [DatabaseValue] = []
        for (column, value) in values.sorted(by: { $0.key < $1.key }) {
            columns.append(column)
            arguments.append(value)
        }
        columns += ["client_updated_at", "updated_at"]
        arguments += [clientTime.databaseValue, stamp.databaseValue]
        if exists {
            let kept = columns.indices.filter { !kind.insertOnlyColumns.contains(columns[$0]) }
            let sets = kept.map { "\(columns[$0]) = ?" }.joined(separator: ", ")
            try db.cachedStatement(sql: "UPDATE \(kind.table) SET \(sets), deleted_at = NULL WHERE id = ?")
                .execute(arguments: StatementArguments(kept.map { arguments[$0] } + [id.databaseValue]))
        } else {
            columns += ["id", "facility_id", "patient_id", "created_at"]
            arguments += [id.databaseValue, patient.facilityID.databaseValue, patient.id.databaseValue, stamp.databaseValue]
            let marks = Array(repeating: "?", count: columns.count).joined(separator: ", ")
            try db.cachedStatement(sql: "INSERT INTO \(kind.table) (\(columns.joined(separator: ", "))) VALUES (\(marks))")
                .execute(arguments: StatementArguments(arguments))
        }
    }

    func recordChange(_ table: String, _ id: String, op: String, patient: Patient, at stamp: String, in db: Database) throws {
        try SyncChangeLog.record(facilityID: patient.facilityID, patientID: patient.id, table: table, id: id, op: op, at: stamp, in: db)
    }

    // MARK: Pull

    /// Everything that changed for the patient since `cursor`, oldest first;
    /// a record changed several times within a page appears once, in its
    /// latest state. Audited (`sync.pull`) like any read of the records.
    public func pull(_ patient: Patient, since cursor: String?, limit: Int = 200, origin: RequestOrigin) async throws -> PullPage {
        let after = try cursor.map(Self.position) ?? 0
        let cipher = appliance.cipher
        return try await PatientRecords(appliance: appliance).readOwn(patient, action: "sync.pull", origin: origin) { db in
            // The patient's own changes and their facility's (announcements), each on its index.
            let rows = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM (
                    SELECT seq, record_type, record_id, op, changed_at FROM sync_changes WHERE patient_id = ? AND seq > ?
                    UNION ALL
                    SELECT seq, record_type, record_id, op, changed_at FROM sync_changes
                    WHERE facility_id = ? AND patient_id IS NULL AND seq > ?
                ) ORDER BY seq LIMIT ?
                """), arguments: [patient.id, after, patient.facilityID, after, limit + 1])
            let reader = Identity(kind: .patient, subjectID: patient.id, role: nil, facilityID: patient.facilityID, sessionID: "")
            let page = rows.prefix(limit)
            var latest: [String: Int64] = [:]
            func key(_ row: Row) -> String { (row["record_type"] as String) + "/" + (row["record_id"] as String) }
            for row in page { latest[key(row)] = row["seq"] }
            var changes: [Change] = []
            for row in page where latest[key(row)] == row["seq"] as Int64 {
                let table: String = row["record_type"], id: String = row["record_id"], op: String = row["op"]
                var data: JSONValue?
                let type: String
                if let kind = RecordKind.stored(in: table) {
                    type = kind.type
                    if op == "upsert" { data = try kind.load([id], patientID: patient.id, cipher: cipher, in: db)[id] }
                } else if table == "patient_goals" {
                    type = "goal"
                    if op == "upsert" { data = try CarePlanRecords.goal(id, cipher: cipher, in: db) }
                } else if table == "patient_medications" {
                    type = "medication"
                    if op == "upsert" { data = try CarePlanRecords.medication(id, cipher: cipher, in: db) }
                } else if table == "messages" {
                    // The header only (who, when, which conversation); the body is read through the API.
                    type = "message"
                    guard let header = try Messaging(appliance: appliance).header(id, for: reader, in: db) else { continue }
                    data = header
                } else if table == "announcements" {
                    type = "announcement"
                    if op == "upsert" {
                        guard let announcement = try Announcements(appliance: appliance).forReader(id, reader, in: db) else { continue }
                        data = announcement
                    }
                } else {
                    continue
                }
                changes.append(Change(type: type, id: id, op: op, updatedAt: row["changed_at"], data: data))
            }
            let last = page.last.map { $0["seq"] as Int64 } ?? after
            return PullPage(changes: changes, cursor: Self.cursor(last), hasMore: rows.count > limit)
        }
    }

    /// Cursors are opaque to the app: "v1." + the change sequence, base64url.
    static func cursor(_ seq: Int64) -> String { Data("v1.\(seq)".utf8).base64URLEncodedString() }

    public struct BadCursor: Error, Equatable, Sendable {}

    static func position(_ cursor: String) throws -> Int64 {
        guard cursor.utf8.count <= 64 else { throw BadCursor() }
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8), text.hasPrefix("v1."),
              let seq = Int64(text.dropFirst(3)), seq >= 0 else { throw BadCursor() }
        return seq
    }
}
