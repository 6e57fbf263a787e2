import Foundation
import GRDB

/// The `key_rotation` row: which versions, which phase, and the cursor (the
/// step of `RotationStep.all` and the last row id done in it).
public struct KeyRotationState: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "key_rotation"

    public enum Phase: String, Codable, Sendable {
        /// Re-encrypting everything written under the old version so far.
        case firstPass = "first_pass"
        /// Writes under the old version are refused (`RotationGuard`); a last
        /// pass re-encrypts what was written under it meanwhile.
        case finalSweep = "final_sweep"
        /// The old version is retired.
        case finished
    }

    var id: Int64 = 1
    public var fromVersion: UInt32
    public var toVersion: UInt32
    public var phase: Phase
    public var entry: Int
    public var afterID: String
    public var batches: Int
    public var rowsReencrypted: Int
    public var documentsReencrypted: Int
    public var startedAt: String
    public var finishedAt: String?

    enum CodingKeys: String, CodingKey {
        case id, phase, entry, batches
        case fromVersion = "from_version", toVersion = "to_version", afterID = "after_id"
        case rowsReencrypted = "rows_reencrypted", documentsReencrypted = "documents_reencrypted"
        case startedAt = "started_at", finishedAt = "finished_at"
    }

    init(from: UInt32, to: UInt32) {
        fromVersion = from
        toVersion = to
        phase = .firstPass
        entry = 0
        afterID = ""
        batches = 0
        rowsReencrypted = 0
        documentsReencrypted = 0
        startedAt = Timestamp.now()
    }

    static func current(in db: Database) throws -> KeyRotationState? {
        try KeyRotationState.fetchOne(db, key: 1)
    }

    /// How far the rotation is, 0...100: passes and steps done, the step in
    /// progress counted as half done.
    public var percent: Int {
        if phase == .finished { return 100 }
        let steps = Double(RotationStep.all.count)
        let inPass = (Double(entry) + (afterID.isEmpty ? 0 : 0.5)) / steps
        // The first pass does nearly all the work; the final sweep re-reads.
        let done = phase == .firstPass ? inPass * 0.8 : 0.8 + inPass * 0.2
        return min(99, Int(done * 100))
    }
}
