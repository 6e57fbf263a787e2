import Foundation
import GRDB

extension KeyRotation {
    /// Re-encrypts the next document's file: read under the old sub-key,
    /// written to a new file under a new sub-key of the new version and
    /// flushed, then the row moved to it in one transaction with the cursor,
    /// then the old file removed. A kill before the commit leaves an unnamed
    /// new file (removed by the documents' sweep); after it, an old file no
    /// row names (the same).
    func documentStep(_ state: KeyRotationState) async throws -> KeyRotationState {
        let folder = appliance.settings.dataDirectory + "/documents"
        let keys = DocumentKeys(ring: appliance.keyRing)
        guard let row = try await pool.read({ db in
            try Row.fetchOne(db, sql: """
                SELECT id, storage_name, key_id, key_version, size_bytes, sha256 FROM documents
                WHERE id > ? AND key_version <> ? ORDER BY id LIMIT 1
                """, arguments: [state.afterID, Int64(state.toVersion)])
        }) else {
            return try await pool.write { db in
                var state = state
                state.entry += 1
                state.afterID = ""
                state.batches += 1
                try state.update(db)
                return state
            }
        }
        let id: String = row["id"], oldName: String = row["storage_name"]
        let oldPath = "\(folder)/\(oldName)"
        var replacement: (name: String, keyID: UInt64)?
        if FileManager.default.fileExists(atPath: oldPath) {
            let keyID = UInt64.random(in: 1...UInt64.max)
            let name = SecureRandom.bytes(20).map { String(format: "%02x", $0) }.joined()
            let reader = try DocumentFile.Reader(path: oldPath, key: keys.key(UInt64(bitPattern: row["key_id"] as Int64), version: row["key_version"]),
                                                 documentID: id, size: row["size_bytes"], sha256: Array(row["sha256"] as Data))
            let writer = try DocumentFile.Writer(path: "\(folder)/\(name).partial", key: keys.key(keyID, version: state.toVersion),
                                                 documentID: id, limit: Int.max)
            do {
                while let chunk = try reader.next() { try writer.append(chunk) }
                _ = try writer.finish()
            } catch {
                writer.discard()
                throw Failure.unreadable(place: "documents (file)", rowID: id)
            }
            guard rename(writer.path, "\(folder)/\(name)") == 0 else {
                writer.discard()
                throw DocumentFailure.diskFull
            }
            replacement = (name, keyID)
        }
        let moved = replacement
        let (next, committed) = try await pool.write { db -> (KeyRotationState, Bool) in
            var state = state
            // The row may have changed since it was read (deleted, replaced): then this document is looked at again.
            let still = try String.fetchOne(db, sql: "SELECT storage_name FROM documents WHERE id = ? AND key_version <> ?",
                                            arguments: [id, Int64(state.toVersion)]) == oldName
            if still {
                if let moved {
                    try db.execute(sql: "UPDATE documents SET storage_name = ?, key_id = ?, key_version = ? WHERE id = ?",
                                   arguments: [moved.name, Int64(bitPattern: moved.keyID), Int64(state.toVersion), id])
                } else {
                    try db.execute(sql: "UPDATE documents SET key_version = ? WHERE id = ?", arguments: [Int64(state.toVersion), id])
                }
                state.documentsReencrypted += 1
                state.afterID = id
            }
            state.batches += 1
            try state.update(db)
            return (state, still)
        }
        if committed {
            if moved != nil { unlink(oldPath) }
        } else if let moved {
            unlink("\(folder)/\(moved.name)")
        }
        return next
    }
}
