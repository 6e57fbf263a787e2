import Foundation
import GRDB

/// Raises a `silence` flag when a patient who usually checks in has gone
/// quiet: an active patient with at least `usualCheckIns` check-ins in the
/// 14 days up to their last one, and no check-in for the facility's
/// `silence_days` since. The flag points at that last check-in, so one
/// silence raises one flag; the next check-in starts a new spell.
public struct SilenceWatch: Sendable {
    public static let usualCheckIns = 5
    public static let usualWindowDays = 14

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    /// Checks every facility; publishes and answers the flags raised.
    @discardableResult
    public func scan(now: Date = Date()) async throws -> [RealtimeEvent] {
        let events = try await appliance.database.pool.write { db -> [RealtimeEvent] in
            var events: [RealtimeEvent] = []
            for facilityID in try String.fetchAll(db, sql: "SELECT id FROM facilities WHERE is_active = 1") {
                let settings = try RecoverySettings.load(facilityID: facilityID, in: db)
                let quietSince = Timestamp.string(now.addingTimeInterval(-Double(settings.silenceDays) * 86_400))
                let rows = try Row.fetchAll(db, sql: """
                    WITH last AS (
                        SELECT c.patient_id, c.id, c.checked_in_at FROM patient_check_ins c
                        WHERE c.facility_id = ? AND c.deleted_at IS NULL
                          AND c.id = (SELECT c2.id FROM patient_check_ins c2
                                      WHERE c2.facility_id = c.facility_id AND c2.patient_id = c.patient_id AND c2.deleted_at IS NULL
                                      ORDER BY c2.checked_in_at DESC, c2.id DESC LIMIT 1)
                    )
                    SELECT last.patient_id, last.id FROM last JOIN patients p ON p.id = last.patient_id
                    WHERE p.status = 'active' AND p.deleted_at IS NULL AND last.checked_in_at < ?
                      AND (SELECT count(*) FROM patient_check_ins c3
                           WHERE c3.facility_id = ? AND c3.patient_id = last.patient_id AND c3.deleted_at IS NULL
                             AND c3.checked_in_at > strftime('%Y-%m-%dT%H:%M:%fZ', last.checked_in_at, '-\(Self.usualWindowDays) days')) >= ?
                    """, arguments: [facilityID, quietSince, facilityID, Self.usualCheckIns])
                for row in rows {
                    let patientID: String = row["patient_id"]
                    for flag in try FlagRules.raise(["silence"], table: "patient_check_ins", recordID: row["id"], facilityID: facilityID,
                                                    patientID: patientID, in: db) {
                        events.append(try EventFeed.append(RealtimeEvent(kind: .patientFlagged, facilityID: facilityID, patientID: patientID,
                                                                         subjectID: flag.id, data: ["flag_kind": flag.kind]), in: db))
                    }
                }
            }
            return events
        }
        appliance.events.publish(events)
        return events
    }
}
