import Foundation
import GRDB

/// Administrators' actions on accounts that authentication depends on:
/// deactivating staff (which ends all their sessions at once) and lifting a
/// brute-force lock before it expires.
public struct AccountAdministration: Sendable {
    public enum Failure: Error, Equatable, Sendable {
        case notFound
        case cannotDeactivateSelf
    }

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    /// Deactivates a staff member the admin may manage (own facility; any for
    /// a super admin). Nothing is erased.
    public func deactivateStaff(_ staffID: String, by admin: Identity, origin: RequestOrigin) async throws {
        if staffID == admin.subjectID { throw Failure.cannotDeactivateSelf }
        let ended = try await appliance.database.pool.write { db -> [String] in
            guard let staff = try manageableStaff(staffID, by: admin, in: db) else { throw Failure.notFound }
            let now = Timestamp.now()
            try db.execute(sql: "UPDATE staff SET is_active = 0, deactivated_at = coalesce(deactivated_at, ?), updated_at = ? WHERE id = ?",
                           arguments: [now, now, staffID])
            let ended = try AuthService(appliance: appliance).endAllSessions(ofStaff: staffID, reason: "deactivated", in: db)
            try appliance.audit.append(AuditEvent(
                action: "staff.deactivate", outcome: .success, actorKind: admin.auditActor, actorID: admin.subjectID,
                facilityID: staff.facilityID, resourceType: "staff", resourceID: staffID, ipAddress: origin.ipAddress,
                requestID: origin.requestID, details: ["sessions_ended": String(ended.count)]), in: db)
            return ended
        }
        appliance.revokedSessions.insert(ended)
    }

    public func unlockStaff(_ staffID: String, by admin: Identity, origin: RequestOrigin) async throws {
        try await appliance.database.pool.write { db in
            guard let staff = try manageableStaff(staffID, by: admin, in: db) else { throw Failure.notFound }
            try appliance.throttle.recordSuccess(.login, account: LoginThrottle.accountKey(staff.email), in: db)
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
            for identifier in [patient.patientNumber] + (patient.email.map { [$0] } ?? []) {
                try appliance.throttle.recordSuccess(.login, account: LoginThrottle.accountKey(identifier), in: db)
            }
            try appliance.audit.append(AuditEvent(
                action: "auth.account_unlocked", outcome: .success, actorKind: admin.auditActor, actorID: admin.subjectID,
                facilityID: patient.facilityID, resourceType: "patient", resourceID: patientID, patientID: patientID,
                ipAddress: origin.ipAddress, requestID: origin.requestID), in: db)
        }
    }

    func manageableStaff(_ staffID: String, by admin: Identity, in db: Database) throws -> StaffAccount? {
        guard let staff = try appliance.staffStore.account(id: staffID, in: db) else { return nil }
        if admin.role == .superAdmin { return staff }
        // Facility admins manage their own facility and never a super admin.
        guard staff.facilityID != nil, staff.facilityID == admin.facilityID else { return nil }
        return staff
    }
}
