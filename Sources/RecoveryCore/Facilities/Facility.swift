import Foundation
import GRDB

/// A clinic. Its name and address are business data, stored plain.
public struct Facility: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "facilities"

    public var id: String
    public var name: String
    public var timezone: String
    public var capacity: Int?
    /// Who must use a second factor: `none`, `admins` or `all_staff`.
    public var mfaPolicy: String = "admins"
    public var createdAt: String
    public var updatedAt: String

    public enum Columns {
        public static let id = Column(CodingKeys.id)
        public static let name = Column(CodingKeys.name)
    }

    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public init(id: String = RowID.make(), name: String, timezone: String, capacity: Int? = nil, mfaPolicy: String = "admins") {
        self.mfaPolicy = mfaPolicy
        let now = Timestamp.now()
        self.id = id
        self.name = name
        self.timezone = timezone
        self.capacity = capacity
        self.createdAt = now
        self.updatedAt = now
    }

    public static let mfaPolicies = ["none", "admins", "all_staff"]

    /// Checks name and time zone; the field named in the error is the API's.
    public static func validate(name: String, timezone: String) throws {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed.count > 200 {
            throw ApplianceError.invalidInput(field: "facility_name", reason: "must be 1 to 200 characters")
        }
        if TimeZone(identifier: timezone) == nil {
            throw ApplianceError.invalidInput(field: "timezone", reason: "must be an IANA time zone such as America/Chicago")
        }
    }
}
