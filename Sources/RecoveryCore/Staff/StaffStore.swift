import Foundation
import GRDB

/// Creates and finds staff accounts, encrypting email and names and indexing
/// the email for login (case-insensitive through the blind index).
public struct StaffStore: Sendable {
    let cipher: FieldCipher
    let blindIndex: BlindIndex

    public init(cipher: FieldCipher, blindIndex: BlindIndex) {
        self.cipher = cipher
        self.blindIndex = blindIndex
    }

    public struct NewStaff: Sendable {
        public var facilityID: String?
        public var role: StaffRole
        public var email: String
        public var firstName: String
        public var lastName: String
        public var passwordHash: String

        public init(facilityID: String?, role: StaffRole, email: String, firstName: String, lastName: String, passwordHash: String) {
            self.facilityID = facilityID
            self.role = role
            self.email = email
            self.firstName = firstName
            self.lastName = lastName
            self.passwordHash = passwordHash
        }
    }

    /// Inserts the account and returns its id.
    @discardableResult
    public func insert(_ staff: NewStaff, in db: Database) throws -> String {
        let id = RowID.make()
        let now = Timestamp.now()
        try db.execute(sql: """
            INSERT INTO staff (id, facility_id, role, email_enc, email_bidx, first_name_enc, last_name_enc,
                               password_hash, password_changed_at, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                id, staff.facilityID, staff.role.rawValue,
                cipher.seal(staff.email, field: .staffEmail, rowID: id),
                blindIndex.index(staff.email, for: .staffEmail),
                cipher.seal(staff.firstName, field: .staffFirstName, rowID: id),
                cipher.seal(staff.lastName, field: .staffLastName, rowID: id),
                staff.passwordHash, now, now, now,
            ])
        return id
    }
}
