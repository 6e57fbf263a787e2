import GRDB

/// The change log the app's `GET /sync/pull` pages through (`sync_changes`):
/// one row per change, written in the change's own transaction. A row names
/// a patient (their records, the headers of messages in their conversations)
/// or, with no patient, the whole facility (announcements); a pull reads the
/// patient's rows and their facility's.
enum SyncChangeLog {
    static func record(facilityID: String, patientID: String?, table: String, id: String, op: String, at stamp: String,
                       in db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO sync_changes (facility_id, patient_id, record_type, record_id, op, changed_at) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [facilityID, patientID, table, id, op, stamp])
    }

    /// A new message: a change for each patient taking part in the conversation.
    static func messageSent(_ messageID: String, conversationID: String, facilityID: String, at stamp: String, in db: Database) throws {
        let patients = try String.fetchAll(db.cachedStatement(sql: """
            SELECT patient_id FROM conversation_participants
            WHERE facility_id = ? AND conversation_id = ? AND patient_id IS NOT NULL AND left_at IS NULL
            """), arguments: [facilityID, conversationID])
        for patientID in patients {
            try record(facilityID: facilityID, patientID: patientID, table: "messages", id: messageID, op: "upsert", at: stamp, in: db)
        }
    }
}
