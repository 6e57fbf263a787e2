import Foundation
import GRDB

/// The threshold rules that put a flag on the counselor's dashboard when a
/// record is stored: low mood, high craving, reported use, a lapse. Each
/// record raises each kind of flag at most once (a unique index), so
/// editing or re-sending a record never raises it again.
public enum FlagRules {
    /// The flags a stored record calls for.
    static func flags(for kind: RecordKind, _ values: [String: DatabaseValue], settings: RecoverySettings) -> [String] {
        func int(_ column: String) -> Int? { values[column].flatMap { Int.fromDatabaseValue($0) } }
        func flag(_ column: String) -> Bool { values[column].flatMap { Bool.fromDatabaseValue($0) } ?? false }
        var flags: [String] = []
        switch kind.type {
        case RecordKind.checkIn.type:
            if let mood = int("mood"), mood <= settings.lowMoodThreshold { flags.append("low_mood") }
            if let craving = int("craving"), craving >= settings.highCravingThreshold { flags.append("high_craving") }
            if flag("used_since_last") { flags.append("reported_use") }
        case RecordKind.craving.type:
            if let intensity = int("intensity"), intensity >= settings.highCravingThreshold { flags.append("high_craving") }
            if flag("acted_on") { flags.append("lapse") }
        default:
            break
        }
        return flags
    }

    /// Raises `kinds` for a record; answers the ids of flags that are new.
    static func raise(_ kinds: [String], table: String, recordID: String, facilityID: String, patientID: String,
                      in db: Database) throws -> [(id: String, kind: String)] {
        var raised: [(String, String)] = []
        for kind in kinds {
            let id = RowID.make()
            try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO patient_flags (id, facility_id, patient_id, kind, source_record_type, source_record_id)
                VALUES (?, ?, ?, ?, ?, ?)
                """).execute(arguments: [id, facilityID, patientID, kind, table, recordID])
            if db.changesCount == 1 { raised.append((id, kind)) }
        }
        return raised
    }
}
