import Foundation
import GRDB

/// A kind of record the patient app writes (check-in, craving, meeting
/// attendance, medication dose, goal progress, journal entry), declared as
/// data: its sync type name, table, fields and the rules that need the
/// database (a trigger from the facility's list, the patient's own
/// medication). `SyncEngine` stores every kind the same way.
public struct RecordKind: Sendable {
    /// What the cross-row checks and derived columns may look at.
    public struct Context: Sendable {
        public var patientID: String
        public var facilityID: String
        public var settings: RecoverySettings
        public var now: Date
        /// `now` as stored (RFC 3339, UTC).
        public var stamp: String
        /// When the app says the record was last edited (already bounded by `now`).
        public var clientUpdatedAt: String?
        /// The record's id.
        public var recordID: String
    }

    /// Checks that need the database; may add derived column values.
    public typealias Check = @Sendable (_ values: inout [String: DatabaseValue], _ context: Context, _ db: Database) throws -> Void

    /// The name in the sync protocol, e.g. `check_in`.
    public let type: String
    /// The collection's path segment under /me and /patients/{id}, e.g. `check-ins`.
    public let collection: String
    public let table: String
    public let fields: [RecordField]
    /// The column the date filters and ordering use.
    public let timeColumn: String
    /// Columns shown besides the fields (set by staff or the server).
    public let outputColumns: [String]
    /// Only these rows are shown to staff (journal entries the patient shared).
    public let staffCondition: String?
    /// Encrypted columns and the key each is sealed with.
    let secretColumns: [String: PHIField]
    /// The columns `output` reads.
    let selection: String
    /// A stored record matching this is closed to the app (attendance verified by staff).
    let lockedCondition: String?
    /// Columns set when the record is first stored and never by an edit.
    let insertOnlyColumns: Set<String>
    let check: Check

    init(type: String, collection: String, table: String, fields: [RecordField], timeColumn: String,
         outputColumns: [String] = [], staffCondition: String? = nil, lockedCondition: String? = nil,
         insertOnlyColumns: Set<String> = [], check: @escaping Check = { _, _, _ in }) {
        self.type = type
        self.collection = collection
        self.table = table
        self.fields = fields
        self.timeColumn = timeColumn
        self.outputColumns = outputColumns
        self.staffCondition = staffCondition
        var secrets: [String: PHIField] = [:]
        for field in fields { if case .text(_, let secret?) = field.rule { secrets[field.column] = secret } }
        self.secretColumns = secrets
        self.selection = (["id", "updated_at"] + fields.map(\.column) + outputColumns).joined(separator: ", ")
        self.lockedCondition = lockedCondition
        self.insertOnlyColumns = insertOnlyColumns
        self.check = check
    }

    /// Reads the app's `data` by the field rules alone (no database);
    /// answers column values (secret text still plain). The kind's `check`
    /// runs later, in the write transaction.
    func parseFields(_ data: [String: JSONValue], now: Date) throws -> [String: DatabaseValue] {
        var values: [String: DatabaseValue] = [:]
        for field in fields { values[field.column] = try field.parse(data, now: now) }
        return values
    }


    /// The record as the app and staff see it: every field (null when empty), id and updated_at.
    func output(_ row: Row, cipher: FieldCipher) throws -> JSONValue {
        let id: String = row["id"]
        var object: [String: JSONValue] = ["id": .string(id), "updated_at": .string(row["updated_at"])]
        for field in fields {
            let value = try field.output(row[field.column] ?? .null, rowID: id, cipher: cipher)
            let path = field.path
            if path.count == 2 {
                var inner: [String: JSONValue] = [:]
                if case .object(let existing)? = object[path[0]] { inner = existing }
                inner[path[1]] = value
                object[path[0]] = .object(inner)
            } else {
                object[field.key] = value
            }
        }
        for column in outputColumns {
            let value: DatabaseValue = row[column] ?? .null
            switch value.storage {
            case .null: object[column] = .null
            case .int64(let number): object[column] = .integer(Int(number))
            case .double(let number): object[column] = .number(number)
            case .string(let text): object[column] = .string(text)
            case .blob: object[column] = .null
            }
        }
        return .object(object)
    }


    /// Loads one patient's records by id, skipping ids that are not theirs.
    func load(_ ids: [String], patientID: String, cipher: FieldCipher, in db: Database) throws -> [String: JSONValue] {
        var found: [String: JSONValue] = [:]
        let statement = try db.cachedStatement(sql: "SELECT \(selection) FROM \(table) WHERE id = ? AND patient_id = ?")
        for id in ids {
            if let row = try Row.fetchOne(statement, arguments: [id, patientID]) { found[id] = try output(row, cipher: cipher) }
        }
        return found
    }
}

extension RecordKind {
    public static let checkIn = RecordKind(
        type: "check_in", collection: "check-ins", table: "patient_check_ins",
        fields: [
            RecordField("local_date", "local_date", .calendarDate, required: true),
            RecordField("timezone", "timezone", .timeZone, required: true),
            RecordField("mood", "mood", .integer(1...10), required: true),
            RecordField("craving", "craving", .integer(0...10)),
            RecordField("stress", "stress", .integer(0...10)),
            RecordField("confidence", "confidence", .integer(0...10)),
            RecordField("used_since_last", "used_since_last", .flag),
            RecordField("halt.hungry", "halt_hungry", .flag),
            RecordField("halt.angry", "halt_angry", .flag),
            RecordField("halt.lonely", "halt_lonely", .flag),
            RecordField("halt.tired", "halt_tired", .flag),
            RecordField("sleep_hours", "sleep_hours", .number(0...24)),
            RecordField("energy", "energy", .integer(1...10)),
            RecordField("note", "note_enc", .text(maxLength: 2_000, secret: .patientCheckInsNote)),
        ],
        timeColumn: "local_date", insertOnlyColumns: ["checked_in_at"],
        check: { values, context, db in
            let localDate = String.fromDatabaseValue(values["local_date"]!)!
            let timezone = String.fromDatabaseValue(values["timezone"]!)!
            if localDate > CalendarDate.today(in: timezone) { throw RecordProblem("local_date", "must not be in the future") }
            // One check-in per local day unless the facility allows more: the
            // first one stored wins; the app changes it by sending its id again.
            if !context.settings.multipleCheckInsPerDay {
                let sameDay = try Bool.fetchOne(db.cachedStatement(sql: """
                    SELECT EXISTS (SELECT 1 FROM patient_check_ins
                                   WHERE facility_id = ? AND patient_id = ? AND local_date = ? AND deleted_at IS NULL AND id <> ?)
                    """), arguments: [context.facilityID, context.patientID, localDate, context.recordID]) ?? false
                if sameDay {
                    throw RecordProblem("local_date", "a check-in for this day is already stored; send its id to change it")
                }
            }
            values["checked_in_at"] = (context.clientUpdatedAt ?? context.stamp).databaseValue
        })

    public static let craving = RecordKind(
        type: "craving", collection: "cravings", table: "patient_cravings",
        fields: [
            RecordField("occurred_at", "occurred_at", .instant, required: true),
            RecordField("intensity", "intensity", .integer(1...10), required: true),
            RecordField("duration_minutes", "duration_minutes", .integer(0...1_440)),
            RecordField("triggers", "triggers", .codes(maxCount: 20)),
            RecordField("trigger_note", "trigger_note_enc", .text(maxLength: 1_000, secret: .patientCravingsTriggerNote)),
            RecordField("coping_strategy", "coping_strategy_enc", .text(maxLength: 1_000, secret: .patientCravingsCopingStrategy)),
            RecordField("acted_on", "acted_on", .flag),
        ],
        timeColumn: "occurred_at",
        check: { values, context, db in
            let codes = (try? JSONDecoder().decode([String].self, from: Data((String.fromDatabaseValue(values["triggers"]!) ?? "[]").utf8))) ?? []
            guard !codes.isEmpty else { return }
            let known = Set(try String.fetchAll(db.cachedStatement(sql: "SELECT code FROM facility_triggers WHERE facility_id = ? AND is_active = 1"),
                                                arguments: [context.facilityID]))
            if let position = codes.firstIndex(where: { !known.contains($0) }) {
                throw RecordProblem("triggers", "entry \(position + 1) is not in the facility's trigger list")
            }
        })

    public static let meetingAttendance = RecordKind(
        type: "meeting_attendance", collection: "meetings", table: "meeting_attendance",
        fields: [
            RecordField("meeting_id", "meeting_id", .uuid),
            RecordField("meeting_kind", "meeting_kind", .choice(Meeting.kinds)),
            RecordField("attended_at", "attended_at", .instant, required: true),
            RecordField("note", "note_enc", .text(maxLength: 1_000, secret: .meetingAttendanceNote)),
        ],
        timeColumn: "attended_at", outputColumns: ["verification", "verified_at"],
        lockedCondition: "verification = 'staff_verified'",
        check: { values, context, db in
            if let meetingID = String.fromDatabaseValue(values["meeting_id"]!) {
                guard let kind = try String.fetchOne(db.cachedStatement(sql: "SELECT kind FROM meetings WHERE id = ? AND facility_id = ?"),
                                                     arguments: [meetingID, context.facilityID]) else {
                    throw RecordProblem("meeting_id", "is not a meeting of this facility")
                }
                if values["meeting_kind"]!.isNull { values["meeting_kind"] = kind.databaseValue }
            } else if values["meeting_kind"]!.isNull {
                throw RecordProblem("meeting_kind", "is required when meeting_id is not given")
            }
        })

    public static let medicationDose = RecordKind(
        type: "medication_dose", collection: "medication-doses", table: "medication_doses",
        fields: [
            RecordField("medication_id", "medication_id", .uuid, required: true),
            RecordField("status", "status", .choice(["taken", "skipped", "late"]), required: true),
            RecordField("taken_at", "taken_at", .instant),
            RecordField("scheduled_for", "scheduled_for", .instant),
            RecordField("note", "note_enc", .text(maxLength: 1_000, secret: .medicationDosesNote)),
        ],
        timeColumn: "coalesce(taken_at, scheduled_for, created_at)",
        check: { values, context, db in
            let medicationID = String.fromDatabaseValue(values["medication_id"]!)!
            let mine = try Bool.fetchOne(db.cachedStatement(sql: """
                SELECT EXISTS (SELECT 1 FROM patient_medications WHERE id = ? AND facility_id = ? AND patient_id = ? AND deleted_at IS NULL)
                """), arguments: [medicationID, context.facilityID, context.patientID]) ?? false
            if !mine { throw RecordProblem("medication_id", "is not one of the patient's medications") }
            if String.fromDatabaseValue(values["status"]!) != "skipped", values["taken_at"]!.isNull {
                throw RecordProblem("taken_at", "is required unless the dose was skipped")
            }
            if let slot = String.fromDatabaseValue(values["scheduled_for"]!) {
                let taken = try Bool.fetchOne(db.cachedStatement(sql: """
                    SELECT EXISTS (SELECT 1 FROM medication_doses WHERE medication_id = ? AND scheduled_for = ? AND deleted_at IS NULL AND id <> ?)
                    """), arguments: [medicationID, slot, context.recordID]) ?? false
                if taken { throw RecordProblem("scheduled_for", "a dose for this scheduled time is already stored; send its id to change it") }
            }
        })

    public static let goalProgress = RecordKind(
        type: "goal_progress", collection: "goal-progress", table: "goal_progress",
        fields: [
            RecordField("goal_id", "goal_id", .uuid, required: true),
            RecordField("progress_percent", "progress_percent", .integer(0...100), required: true),
            RecordField("note", "note_enc", .text(maxLength: 1_000, secret: .goalProgressNote)),
        ],
        timeColumn: "recorded_at", outputColumns: ["recorded_by_kind"],
        check: { values, context, db in
            let goalID = String.fromDatabaseValue(values["goal_id"]!)!
            let status = try String.fetchOne(db.cachedStatement(sql: """
                SELECT status FROM patient_goals WHERE id = ? AND facility_id = ? AND patient_id = ? AND deleted_at IS NULL
                """), arguments: [goalID, context.facilityID, context.patientID])
            guard let status else { throw RecordProblem("goal_id", "is not one of the patient's goals") }
            if status == "cancelled" { throw RecordProblem("goal_id", "the goal was cancelled") }
            values["recorded_by_kind"] = "patient".databaseValue
        })

    public static let journalEntry = RecordKind(
        type: "journal_entry", collection: "journal", table: "journal_entries",
        fields: [
            RecordField("written_at", "written_at", .instant, required: true),
            RecordField("title", "title_enc", .text(maxLength: 200, secret: .journalEntriesTitle)),
            RecordField("body", "body_enc", .text(maxLength: 20_000, secret: .journalEntriesBody), required: true),
            RecordField("shared_with_care_team", "shared_with_care_team", .flag),
        ],
        timeColumn: "written_at", staffCondition: "shared_with_care_team = 1")

    /// Every kind the app writes, in the order of the sync protocol.
    public static let all: [RecordKind] = [.checkIn, .craving, .meetingAttendance, .medicationDose, .goalProgress, .journalEntry]

    public static func named(_ type: String) -> RecordKind? { all.first { $0.type == type } }
    public static func stored(in table: String) -> RecordKind? { all.first { $0.table == table } }
}
