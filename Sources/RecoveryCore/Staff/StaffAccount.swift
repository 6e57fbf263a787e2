import Foundation
import GRDB

/// A staff member as authentication sees them, decrypted.
public struct StaffAccount: Sendable, Equatable {
    public var id: String
    public var facilityID: String?
    public var role: StaffRole
    public var email: String
    public var firstName: String
    public var lastName: String
    public var isActive: Bool
    public var passwordHash: String
    public var mfaEnabled: Bool
    /// A demo account that may sign in without a second factor (`seed --demo` only).
    public var mfaExempt: Bool
    /// The password was set by an administrator (or generated at `init`): the
    /// account must choose its own before it can do anything else.
    public var mustChangePassword: Bool

    init(row: Row, cipher: FieldCipher) throws {
        id = row["id"]
        facilityID = row["facility_id"]
        role = StaffRole(rawValue: row["role"]) ?? .staff
        email = try cipher.openString(row["email_enc"], field: .staffEmail, rowID: id)
        firstName = try cipher.openString(row["first_name_enc"], field: .staffFirstName, rowID: id)
        lastName = try cipher.openString(row["last_name_enc"], field: .staffLastName, rowID: id)
        isActive = row["is_active"]
        passwordHash = row["password_hash"]
        mfaEnabled = row["mfa_enabled"]
        mfaExempt = row["mfa_exempt"]
        mustChangePassword = row["must_change_password"]
    }
}

extension StaffStore {
    /// The account with this email (case-insensitive), if any.
    public func account(email: String, in db: Database) throws -> StaffAccount? {
        let lookup = blindIndex.lookup(email, for: .staffEmail)
        let rows = try Row.fetchAll(db, sql: "SELECT * FROM staff WHERE \(lookup.sql("email_bidx"))", arguments: lookup.arguments)
        return try rows.map { try StaffAccount(row: $0, cipher: cipher) }
            .first { BlindIndex.normalise($0.email) == BlindIndex.normalise(email) }
    }

    public func account(id: String, in db: Database) throws -> StaffAccount? {
        try Row.fetchOne(db, sql: "SELECT * FROM staff WHERE id = ?", arguments: [id]).map { try StaffAccount(row: $0, cipher: cipher) }
    }
}
