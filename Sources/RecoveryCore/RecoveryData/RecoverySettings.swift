import Foundation
import GRDB
import Synchronization

/// A facility's rules for the patient app's records: whether a patient may
/// check in more than once a day, and the thresholds that raise flags on
/// the counselor's dashboard (including the relapse-risk score's). Kept in the `settings` table (scope = the
/// facility, key `recovery`); a facility that never changed them has the defaults.
public struct RecoverySettings: Sendable, Equatable, Codable {
    /// false: one check-in per patient per local day; the first one stored wins.
    public var multipleCheckInsPerDay = false
    /// A check-in with mood at or below this raises a `low_mood` flag.
    public var lowMoodThreshold = 3
    /// A craving (logged, or a check-in's craving answer) at or above this raises `high_craving`.
    public var highCravingThreshold = 8
    /// No check-in for this many days, from a patient who usually checks in, raises `silence`.
    public var silenceDays = 3
    /// A relapse-risk score at or above this (0-100) raises a `risk` flag for the care team.
    public var riskFlagThreshold = 60

    public init() {}

    public static let key = "recovery"
    public static let moodRange = 1...10
    public static let cravingRange = 1...10
    public static let silenceRange = 1...30
    public static let riskThresholdRange = 1...100

    enum CodingKeys: String, CodingKey {
        case multipleCheckInsPerDay = "multiple_check_ins_per_day"
        case lowMoodThreshold = "low_mood_threshold"
        case highCravingThreshold = "high_craving_threshold"
        case silenceDays = "silence_days"
        case riskFlagThreshold = "risk_flag_threshold"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = RecoverySettings()
        multipleCheckInsPerDay = try c.decodeIfPresent(Bool.self, forKey: .multipleCheckInsPerDay) ?? defaults.multipleCheckInsPerDay
        lowMoodThreshold = try c.decodeIfPresent(Int.self, forKey: .lowMoodThreshold) ?? defaults.lowMoodThreshold
        highCravingThreshold = try c.decodeIfPresent(Int.self, forKey: .highCravingThreshold) ?? defaults.highCravingThreshold
        silenceDays = try c.decodeIfPresent(Int.self, forKey: .silenceDays) ?? defaults.silenceDays
        riskFlagThreshold = try c.decodeIfPresent(Int.self, forKey: .riskFlagThreshold) ?? defaults.riskFlagThreshold
    }

    public static func load(facilityID: String, in db: Database) throws -> RecoverySettings {
        guard let json = try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM settings WHERE scope = ? AND key = ?"),
                                             arguments: [facilityID, key]) else { return RecoverySettings() }
        // Every push reads the settings; decode a given text only once.
        if let known = decoded.withLock({ $0[json] }) { return known }
        let settings = (try? JSONDecoder().decode(RecoverySettings.self, from: Data(json.utf8))) ?? RecoverySettings()
        decoded.withLock { cache in
            if cache.count > 1_000 { cache.removeAll() }
            cache[json] = settings
        }
        return settings
    }

    /// Stored JSON text → settings (the text is the key, so a change is never missed).
    private static let decoded = Mutex<[String: RecoverySettings]>([:])

    public func save(facilityID: String, by staffID: String?, in db: Database) throws {
        let json = String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
        try db.execute(sql: """
            INSERT INTO settings (scope, key, facility_id, value, updated_by) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by,
                updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
            """, arguments: [facilityID, Self.key, facilityID, json, staffID])
    }
}
