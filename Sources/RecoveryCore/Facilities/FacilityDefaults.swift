import GRDB

/// What every new facility starts with.
public enum FacilityDefaults {
    /// The craving triggers every facility starts with; admins can add more.
    public static let triggers: [(code: String, label: String)] = [
        ("stress", "Stress"), ("boredom", "Boredom"), ("loneliness", "Loneliness"), ("anger", "Anger"),
        ("people", "People"), ("places", "Places"), ("celebration", "Celebration"), ("pain", "Pain"),
        ("sleep", "Sleep"), ("other", "Other"),
    ]

    static func install(for facilityID: String, in db: Database) throws {
        for trigger in triggers {
            try db.execute(sql: """
                INSERT INTO facility_triggers (id, facility_id, code, label, is_default)
                VALUES (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-a' || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))), ?, ?, ?, 1)
                """, arguments: [facilityID, trigger.code, trigger.label])
        }
    }
}
