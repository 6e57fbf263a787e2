import Foundation
import GRDB

/// Administrators managing staff accounts within their facility (a super
/// admin: every facility). Accounts are deactivated, never erased; role
/// changes are audited with the old and new role.
public struct StaffDirectory: Sendable {
    public struct NewMember: Sendable {
        public var facilityID: String?
        public var email: String
        public var firstName: String
        public var lastName: String
        public var role: String
        public var password: String
        public init(facilityID: String?, email: String, firstName: String, lastName: String, role: String, password: String) {
            self.facilityID = facilityID; self.email = email; self.firstName = firstName
            self.lastName = lastName; self.role = role; self.password = password
        }
    }

    public struct Changes: Sendable {
        public var email: String?
        public var firstName: String?
        public var lastName: String?
        public var role: String?
        public init() {}
    }

    public struct Member: Sendable, Equatable {
        public var account: StaffAccount
        public var createdAt: String
        public var lastLoginAt: String?
    }

    public enum Failure: Error, Equatable, Sendable {
        case invalid([String: String])
        case notFound
        case emailInUse
        case forbidden
    }

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    var pool: DatabasePool { appliance.database.pool }

    /// Runs `body`, auditing a refusal by the access policy (and this
    /// directory's own `forbidden`/`notFound`) before rethrowing it.
    func audited<T>(_ action: String, _ identity: Identity, staffID: String?, origin: RequestOrigin,
                    _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as AccessError {
            try await appliance.auditWriter.record(.denied(action, by: identity, resourceType: "staff", resourceID: staffID, reason: error, origin))
            throw error == .notFound ? Failure.notFound : error
        } catch let error as Failure where error == .forbidden || error == .notFound {
            try await appliance.auditWriter.record(.denied(action, by: identity, resourceType: "staff", resourceID: staffID,
                                                           reason: error == .forbidden ? .forbidden(.staffManage) : .notFound, origin))
            throw error
        }
    }

    static func nameProblems(first: String?, last: String?) -> [String: String] {
        var problems: [String: String] = [:]
        for (field, value) in [("first_name", first), ("last_name", last)] {
            guard let value else { continue }
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.count > 100 { problems[field] = "must be 1 to 100 characters" }
            else if TextRules.hasControlCharacters(value) { problems[field] = "must not contain control characters" }
        }
        return problems
    }

    public func create(_ identity: Identity, _ new: NewMember, origin: RequestOrigin) async throws -> Member {
        try await audited("staff.create", identity, staffID: nil, origin: origin) {
            try AccessPolicy.require(identity, .staffManage)
            let role = StaffRole(rawValue: new.role)
            if let role, !AccessPolicy.mayAssign(role, by: identity) { throw Failure.forbidden }
            var problems = Self.nameProblems(first: new.firstName, last: new.lastName)
            if !StaffProfile.isPlausibleEmail(new.email) { problems["email"] = "must be an email address like name@clinic.org" }
            if role == nil { problems["role"] = "must be one of: " + StaffRole.allCases.map(\.rawValue).joined(separator: ", ") }
            if let issue = PasswordPolicy(settings: appliance.settings).problem(with: new.password, email: new.email) { problems["password"] = issue }
            let boxWide = role.map(AccessPolicy.boxWide) ?? false
            if !boxWide, identity.facilityID == nil, new.facilityID.flatMap(UUID.init(uuidString:)) == nil { problems["facility_id"] = "is required" }
            if !problems.isEmpty { throw Failure.invalid(problems) }
            let hash = try await appliance.passwords.hash(new.password)
            let member = try await pool.write { db -> Member in
                var facilityID: String? = nil
                if !boxWide {
                    do {
                        facilityID = try AccessPolicy.facilityForNewRecord(identity, requested: new.facilityID, in: db)
                    } catch AccessError.notFound {
                        throw Failure.invalid(["facility_id": "does not name a facility"])
                    }
                }
                if try appliance.staffStore.account(email: new.email, in: db) != nil { throw Failure.emailInUse }
                let id = try appliance.staffStore.insert(.init(
                    facilityID: facilityID, role: role!, email: new.email.trimmingCharacters(in: .whitespaces),
                    firstName: new.firstName.trimmingCharacters(in: .whitespacesAndNewlines),
                    lastName: new.lastName.trimmingCharacters(in: .whitespacesAndNewlines), passwordHash: hash), in: db)
                // The administrator chose this password: the new member replaces it at first sign-in.
                try db.execute(sql: "UPDATE staff SET created_by = ?, must_change_password = 1 WHERE id = ?", arguments: [identity.subjectID, id])
                try appliance.audit.append(event("staff.create", identity, staffID: id, facilityID: facilityID, origin,
                                                 details: ["role": role!.rawValue]), in: db)
                return try load(id, in: db)!
            }
            appliance.pendingPasswordChanges.insert([member.account.id])
            return member
        }
    }

    public func list(_ identity: Identity, page: Int, limit: Int, role: String?, active: Bool?) async throws -> (members: [Member], total: Int) {
        var (sql, arguments) = try AccessPolicy.staffList(identity)
        if let role { sql += " AND s.role = ?"; arguments += [role] }
        if let active { sql += " AND s.is_active = ?"; arguments += [active] }
        let (where_, args) = (sql, arguments)
        return try await appliance.database.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM staff s WHERE \(where_)", arguments: args) ?? 0
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM staff s WHERE \(where_) ORDER BY s.created_at, s.id LIMIT ? OFFSET ?",
                                        arguments: args + [limit, (page - 1) * limit])
            return (try rows.map(member), total)
        }
    }

    public func get(_ identity: Identity, staffID: String, origin: RequestOrigin) async throws -> Member {
        try await audited("staff.read", identity, staffID: staffID, origin: origin) {
            try await appliance.database.read { db in
                _ = try AccessPolicy.staffAccount(identity, staffID, for: .staffRead, in: db)
                guard let member = try load(staffID, in: db) else { throw Failure.notFound }
                return member
            }
        }
    }

    public func update(_ identity: Identity, staffID: String, changes: Changes, origin: RequestOrigin) async throws -> Member {
        var problems = Self.nameProblems(first: changes.firstName, last: changes.lastName)
        if let email = changes.email, !StaffProfile.isPlausibleEmail(email) { problems["email"] = "must be an email address like name@clinic.org" }
        let newRole = changes.role.flatMap(StaffRole.init(rawValue:))
        if changes.role != nil && newRole == nil { problems["role"] = "must be one of: " + StaffRole.allCases.map(\.rawValue).joined(separator: ", ") }
        let invalid = problems
        // Decided first, in the write: a caller who may not reach the account learns nothing from validation.
        let ended = try await audited("staff.update", identity, staffID: staffID, origin: origin) { try await pool.write { db -> [String] in
            _ = try AccessPolicy.staffAccount(identity, staffID, for: .staffManage, in: db)
            if !invalid.isEmpty { throw Failure.invalid(invalid) }
            guard let before = try load(staffID, in: db) else { throw Failure.notFound }
            if let newRole, newRole != before.account.role {
                if staffID == identity.subjectID { throw Failure.invalid(["role": "you cannot change your own role"]) }
                if AccessPolicy.boxWide(newRole) != AccessPolicy.boxWide(before.account.role) {
                    throw Failure.invalid(["role": "cannot move an account into or out of super_admin"])
                }
            }
            let cipher = appliance.cipher
            var sets: [String] = [], arguments: StatementArguments = []
            if let email = changes.email {
                if let other = try appliance.staffStore.account(email: email, in: db), other.id != staffID { throw Failure.emailInUse }
                sets += ["email_enc = ?", "email_bidx = ?"]
                arguments += [cipher.seal(email, field: .staffEmail, rowID: staffID), appliance.blindIndex.index(email, for: .staffEmail)]
            }
            if let first = changes.firstName { sets.append("first_name_enc = ?"); arguments += [cipher.seal(first, field: .staffFirstName, rowID: staffID)] }
            if let last = changes.lastName { sets.append("last_name_enc = ?"); arguments += [cipher.seal(last, field: .staffLastName, rowID: staffID)] }
            if let newRole { sets.append("role = ?"); arguments += [newRole.rawValue] }
            var ended: [String] = []
            if !sets.isEmpty {
                sets.append("updated_at = ?"); arguments += [Timestamp.now()]
                try db.execute(sql: "UPDATE staff SET \(sets.joined(separator: ", ")) WHERE id = ?", arguments: arguments + [staffID])
            }
            if let newRole, newRole != before.account.role {
                // A new role takes effect at once: the old tokens carry the old one.
                ended = try AuthService(appliance: appliance).endAllSessions(ofStaff: staffID, reason: "role_changed", in: db)
                try appliance.audit.append(event("staff.role_change", identity, staffID: staffID, facilityID: before.account.facilityID, origin,
                                                 details: ["from": before.account.role.rawValue, "to": newRole.rawValue]), in: db)
            }
            try appliance.audit.append(event("staff.update", identity, staffID: staffID, facilityID: before.account.facilityID, origin), in: db)
            return ended
        } }
        appliance.revokedSessions.insert(ended)
        return try await appliance.database.read { db in try load(staffID, in: db)! }
    }

    func load(_ id: String, in db: Database) throws -> Member? {
        try Row.fetchOne(db, sql: "SELECT * FROM staff WHERE id = ?", arguments: [id]).map(member)
    }

    func member(_ row: Row) throws -> Member {
        Member(account: try StaffAccount(row: row, cipher: appliance.cipher), createdAt: row["created_at"], lastLoginAt: row["last_login_at"])
    }

    func event(_ action: String, _ identity: Identity, staffID: String, facilityID: String?, _ origin: RequestOrigin,
               details: [String: String] = [:]) -> AuditEvent {
        AuditEvent(action: action, outcome: .success, actorKind: .staff, actorID: identity.subjectID, facilityID: facilityID,
                   resourceType: "staff", resourceID: staffID, ipAddress: origin.ipAddress, requestID: origin.requestID, details: details)
    }
}
