import Foundation
import GRDB

/// Fills `audit_log_patients` from the `patient_ids` of list-read entries,
/// in large batches away from the requests that wrote them: indexing fifty
/// patients per list read inside each request's commit was the largest cost
/// of a patient list. The entries themselves (with their patient ids) are
/// durable when the request answers; this index is derived from them and
/// is brought up to date before any query that depends on it.
public struct AuditPatientIndex: Sendable {
    static let progressKey = "audit_patient_index_seq"
    let database: AppDatabase

    public init(database: AppDatabase) {
        self.database = database
    }

    /// Indexes every entry not yet indexed; returns how many it indexed.
    /// Works in small transactions with a pause between them, so requests'
    /// own commits (which wait for the single writer) are never held up long.
    @discardableResult
    public func catchUp(batch: Int = 100, pause: Duration = .milliseconds(2)) async throws -> Int {
        var total = 0
        while true {
            let done = try await database.pool.write { db in try Self.catchUp(in: db, batch: batch) }
            total += done
            if done < batch { return total }
            try await Task.sleep(for: pause)
        }
    }

    static func catchUp(in db: Database, batch: Int) throws -> Int {
        let done = Int64(try BoxSetting.get(progressKey, in: db) ?? "0") ?? 0
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT seq, patient_ids FROM audit_logs WHERE seq > ? AND patient_ids IS NOT NULL ORDER BY seq LIMIT ?
            """), arguments: [done, batch])
        guard let last = rows.last else { return 0 }
        let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO audit_log_patients (patient_id, audit_seq) VALUES (?, ?)")
        for row in rows {
            let seq: Int64 = row[0]
            guard case .array(let ids)? = try? JSONParser.parse((row[1] as String).utf8) else { continue }
            for case .string(let id) in ids { try insert.execute(arguments: [id, seq]) }
        }
        try BoxSetting.set(progressKey, to: String(last[0] as Int64), in: db)
        return rows.count
    }
}
