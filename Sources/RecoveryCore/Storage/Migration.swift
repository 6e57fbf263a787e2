import Foundation
import RecoveryMigrations

/// One numbered SQL file from `Migrations/`.
public struct Migration: Sendable, Equatable {
    /// The file name without `.sql`, e.g. `0001_initial_schema`; recorded when applied.
    public let identifier: String
    public let number: Int
    public let sql: String

    /// All migrations compiled into this binary, in order.
    public static let all: [Migration] = EmbeddedMigrations.files.map { file in
        let identifier = String(file.name.dropLast(".sql".count))
        let number = Int(identifier.prefix(while: \.isNumber))!
        return Migration(identifier: identifier, number: number, sql: file.sql)
    }

    /// The schema version this binary knows: the number of its newest migration.
    public static var latestVersion: Int { all.last?.number ?? 0 }
}
