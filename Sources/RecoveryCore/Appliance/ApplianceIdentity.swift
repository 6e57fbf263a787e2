import Foundation
import GRDB

/// The box's own id: a random UUID kept in the box settings, made at `init`
/// (or at the first start of a box from before it). Backups carry it, so an
/// operator can tell which box a backup file belongs to.
enum ApplianceIdentity {
    static let settingKey = "appliance_id"

    static func get(in db: Database) throws -> String? {
        try BoxSetting.get(settingKey, in: db)
    }

    /// The id, made now if the box has none yet.
    @discardableResult
    static func ensure(in db: Database) throws -> String {
        if let id = try get(in: db) { return id }
        let id = UUID().uuidString.lowercased()
        try BoxSetting.set(settingKey, to: id, in: db)
        return id
    }
}
