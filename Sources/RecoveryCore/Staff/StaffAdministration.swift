import Foundation
import GRDB

/// Administrators' actions on accounts that authentication depends on:
/// deactivating staff (which ends all their sessions at once), lifting a
/// brute-force lock before it expires, and resetting a staff member's
/// password or second factor.
public struct AccountAdministration: Sendable {
    public enum Failure: Error, Equatable, Sendable {
        case notFound
        case cannotDeactivateSelf
        /// Own password: change it; own second factor: another administrator resets it.
        case cannotResetSelf
    }

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    /// Deactivates a staff member the admin may manage (own facility; any for
    /// a super admin). Nothing is erased.
    public func deactivateStaff(_ staffID: String, by admin: Identity, origin: RequestOrigin) async throws {
        if staffID == admin.subjectID { throw Failure.cannotDeactivateSelf }
        let ended = try await audited("staff.deactivate", admin, staffID, origin) { db -> [String] in
            guard let staff = try manageableStaff(staffID, by: admin, in: db) else { throw Failure.notFound }
            let now = Timestamp.now()
            try db.execute(sql: "UPDATE staff SET is_active = 0, deactivated_at = coalesce(deactivated_at, ?), updated_at = ? WHERE id = ?",
                           arguments: [now, now, staffID])
            let ended = try AuthService(appliance: appliance).endAllSessions(ofStaff: staffID, reason: "deactivated", in: db)
            try appliance.audit.append(success("staff.deactivate", by: admin, on: staff, origin, details: ["sessions_ended": String(ended.count)]), in: db)
            return ended
        }
        appliance.revokedSessions.insert(ended)
    }

    /// Removes a staff member's second factor (a lost phone): the TOTP secret
    /// and unused recovery codes go, every session ends, and the next sign-in
    /// enrols again where the facility requires a second factor.
    public func resetSecondFactor(_ staffID: String, by admin: Identity, origin: RequestOrigin) async throws {
        try requireStaffManage(admin)
        if staffID == admin.subjectID { throw Failure.cannotResetSelf }
        let ended = try await audited("staff.mfa_reset", admin, staffID, origin) { db -> [String] in
            guard let staff = try manageableStaff(staffID, by: admin, in: db) else { throw Failure.notFound }
            let now = Timestamp.now()
            try db.execute(sql: """
                UPDATE staff SET mfa_enabled = 0, totp_secret_enc = NULL, totp_last_used_step = NULL, mfa_enrolled_at = NULL,
                       updated_at = ?
                WHERE id = ?
                """, arguments: [now, staffID])
            try db.execute(sql: "UPDATE staff_mfa_recovery_codes SET used_at = ? WHERE staff_id = ? AND used_at IS NULL", arguments: [now, staffID])
            try db.execute(sql: "UPDATE mfa_challenges SET consumed_at = ? WHERE staff_id = ? AND consumed_at IS NULL", arguments: [now, staffID])
            // Wrong codes typed from a lost phone's backup no longer count.
            try appliance.throttle.recordSuccess(.mfa, account: "mfa:" + staffID, in: db)
            let ended = try AuthService(appliance: appliance).endAllSessions(ofStaff: staffID, reason: "mfa_reset", in: db)
            try appliance.audit.append(success("staff.mfa_reset", by: admin, on: staff, origin, details: ["had_mfa": staff.mfaEnabled ? "true" : "false", "sessions_ended": String(ended.count)]), in: db)
            return ended
        }
        appliance.revokedSessions.insert(ended)
    }

    /// Sets a new password for a staff member (forgotten password): every
    /// session ends and the member must choose their own at next sign-in.
    public func resetPassword(_ staffID: String, to password: String, by admin: Identity, origin: RequestOrigin) async throws {
        try requireStaffManage(admin)
        if staffID == admin.subjectID { throw Failure.cannotResetSelf }
        let email = try await audited("staff.password_reset", admin, staffID, origin) { db -> String in
            guard let staff = try manageableStaff(staffID, by: admin, in: db) else { throw Failure.notFound }
            return staff.email
        }
        if let problem = PasswordPolicy(settings: appliance.settings).problem(with: password, email: email) {
            throw AuthError.invalid(field: "password", issue: problem)
        }
        let hash = try await appliance.passwords.hash(password)
        let ended = try await appliance.database.pool.write { db -> [String] in
            guard let staff = try manageableStaff(staffID, by: admin, in: db) else { throw Failure.notFound }
            let now = Timestamp.now()
            try db.execute(sql: """
                UPDATE staff SET password_hash = ?, must_change_password = 1, mfa_exempt = 0, password_changed_at = ?, updated_at = ?
                WHERE id = ?
                """, arguments: [hash, now, now, staffID])
            // A forgotten password often comes with a lock from the guesses before: lifted.
            try appliance.throttle.recordSuccess(.login, account: LoginThrottle.accountKey(.staff, id: staffID), in: db)
            let ended = try AuthService(appliance: appliance).endAllSessions(ofStaff: staffID, reason: "password_reset", in: db)
            try appliance.audit.append(success("staff.password_reset", by: admin, on: staff, origin, details: ["sessions_ended": String(ended.count)]), in: db)
            return ended
        }
        appliance.revokedSessions.insert(ended)
        appliance.pendingPasswordChanges.insert([staffID])
    }

    /// The entry of an administrator's action on a staff account.
    func success(_ action: String, by admin: Identity, on staff: StaffAccount, _ origin: RequestOrigin, details: [String: String]) -> AuditEvent {
        AuditEvent(action: action, outcome: .success, actorKind: admin.auditActor, actorID: admin.subjectID, facilityID: staff.facilityID,
                   resourceType: "staff", resourceID: staff.id, ipAddress: origin.ipAddress, requestID: origin.requestID, details: details)
    }

    /// The resets need `staff.manage` (within the admin's facility: `manageableStaff`).
    func requireStaffManage(_ admin: Identity) throws {
        try AccessPolicy.require(admin, .staffManage)
    }

    public func unlockStaff(_ staffID: String, by admin: Identity, origin: RequestOrigin) async throws {
        try await audited("auth.account_unlock", admin, staffID, origin) { db in
            guard let staff = try manageableStaff(staffID, by: admin, in: db) else { throw Failure.notFound }
            try appliance.throttle.recordSuccess(.login, account: LoginThrottle.accountKey(.staff, id: staffID), in: db)
            try appliance.throttle.recordSuccess(.mfa, account: "mfa:" + staffID, in: db)
            try appliance.audit.append(AuditEvent(
                action: "auth.account_unlocked", outcome: .success, actorKind: admin.auditActor, actorID: admin.subjectID,
                facilityID: staff.facilityID, resourceType: "staff", resourceID: staffID, ipAddress: origin.ipAddress,
                requestID: origin.requestID), in: db)
        }
    }

    public func unlockPatient(_ patientID: String, by admin: Identity, origin: RequestOrigin) async throws {
        do {
            _ = try await PatientDirectory(appliance: appliance).authorize(admin, patientID, .staffManage, action: "auth.account_unlock", origin: origin)
        } catch AccessError.notFound {
            throw Failure.notFound
        }
        try await appliance.database.pool.write { db in
            guard let patient = try appliance.patientStore.account(id: patientID, in: db), !patient.isDeleted else { throw Failure.notFound }
            try appliance.throttle.recordSuccess(.login, account: LoginThrottle.accountKey(.patient, id: patientID), in: db)
            try appliance.audit.append(AuditEvent(
                action: "auth.account_unlocked", outcome: .success, actorKind: admin.auditActor, actorID: admin.subjectID,
                facilityID: patient.facilityID, resourceType: "patient", resourceID: patientID, patientID: patientID,
                ipAddress: origin.ipAddress, requestID: origin.requestID), in: db)
        }
    }

    /// Writes `body`; a staff account the policy does not let `admin` manage
    /// is a refusal, audited before it is answered.
    func audited<T: Sendable>(_ action: String, _ admin: Identity, _ staffID: String, _ origin: RequestOrigin,
                              _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await appliance.database.pool.write(body)
        } catch Failure.notFound {
            try await appliance.auditWriter.record(.denied(action, by: admin, resourceType: "staff", resourceID: staffID, reason: .notFound, origin))
            throw Failure.notFound
        }
    }

    /// The account, when the access policy lets `admin` manage it (own
    /// facility, never a box-wide account; a box-wide admin: any).
    func manageableStaff(_ staffID: String, by admin: Identity, in db: Database) throws -> StaffAccount? {
        do {
            _ = try AccessPolicy.staffAccount(admin, staffID, for: .staffManage, in: db)
        } catch AccessError.notFound {
            return nil
        }
        return try appliance.staffStore.account(id: staffID, in: db)
    }
}
