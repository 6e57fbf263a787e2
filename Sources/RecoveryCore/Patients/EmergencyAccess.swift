import Foundation
import GRDB

/// Break the glass (HIPAA §164.312(a)(2)(ii)): a clinician outside the care
/// team, or not named on a restricted patient, opens the patient for
/// `minutes` with a stated reason. Asking again while a grant is open renews
/// it; a clinician gets at most `maxRenewals + 1` grants on a patient within
/// that many grants' length (renewed or not), and then belongs on the care
/// team. Administrators list the grants, review each (appropriate or not,
/// never their own) and can end one early, after which the clinician cannot
/// break the glass on that patient again within the window. Every step is audited.
public struct EmergencyAccess: Sendable {
    public static let minutes = 60
    public static let maxRenewals = 2

    public struct Grant: Sendable, Equatable {
        public var id: String
        public var patientID: String
        public var staffID: String
        public var reason: String
        public var grantedAt: String
        public var expiresAt: String
        public var endedAt: String?
        public var renews: String?
        public var reviewedAt: String?
        public var reviewedBy: String?
        public var reviewOutcome: String?
    }

    public enum Failure: Error, Equatable, Sendable {
        case invalid(field: String, issue: String)
        case renewalLimit
        /// An administrator ended this clinician's last grant on the patient.
        case endedByAdministrator
        /// Nobody reviews their own emergency access.
        case ownGrant
        case alreadyEnded
        case alreadyReviewed
        case notFound
    }

    public static let outcomes = ["appropriate", "inappropriate"]

    let appliance: Appliance
    var directory: PatientDirectory { PatientDirectory(appliance: appliance) }

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    /// Opens the patient to the caller; returns the grant's expiry.
    public func grant(_ identity: Identity, patientID: String, reason: String, origin: RequestOrigin) async throws -> String {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            return try await directory.writeAuthorized(identity, patientID, .emergencyAccess, action: "patient.emergency_access", origin: origin) { db, access in
                guard (10...500).contains(trimmed.count) else { throw Failure.invalid(field: "reason", issue: "must be 10 to 500 characters") }
                let now = Date()
                let stamp = Timestamp.string(now)
                let open = try String.fetchOne(db, sql: """
                    SELECT id FROM emergency_access_grants
                    WHERE facility_id = ? AND staff_id = ? AND patient_id = ? AND expires_at > ? AND ended_at IS NULL
                    ORDER BY expires_at DESC LIMIT 1
                    """, arguments: [access.facilityID, identity.subjectID, patientID, stamp])
                // Renewed or not, at most maxRenewals + 1 grants per clinician and
                // patient in any window of that many grants' length; and one an
                // administrator ended stays ended for that window.
                let window = Timestamp.string(now.addingTimeInterval(-TimeInterval((Self.maxRenewals + 1) * Self.minutes * 60)))
                let recent = try Row.fetchAll(db, sql: """
                    SELECT ended_by FROM emergency_access_grants
                    WHERE facility_id = ? AND staff_id = ? AND patient_id = ? AND granted_at > ?
                    """, arguments: [access.facilityID, identity.subjectID, patientID, window])
                if recent.contains(where: { ($0["ended_by"] as String?).map { $0 != identity.subjectID } ?? false }) {
                    throw Failure.endedByAdministrator
                }
                if recent.count > Self.maxRenewals { throw Failure.renewalLimit }
                if let open {
                    try db.execute(sql: "UPDATE emergency_access_grants SET ended_at = ?, ended_by = ? WHERE id = ?",
                                   arguments: [stamp, identity.subjectID, open])
                }
                let id = RowID.make()
                let expires = Timestamp.string(now.addingTimeInterval(TimeInterval(Self.minutes * 60)))
                try db.execute(sql: """
                    INSERT INTO emergency_access_grants (id, facility_id, patient_id, staff_id, reason_enc, granted_at, expires_at, renews)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, access.facilityID, patientID, identity.subjectID,
                                     appliance.cipher.seal(trimmed, field: .emergencyAccessGrantsReason, rowID: id), stamp, expires, open])
                var details = ["grant_id": id, "minutes": String(Self.minutes)]
                if let open { details["renews"] = open }
                try appliance.audit.append(directory.successEvent(open == nil ? "patient.emergency_access" : "patient.emergency_access_renew",
                                                                  identity, access, origin, details: details), in: db)
                return expires
            }
        } catch let failure as Failure where failure == .renewalLimit || failure == .endedByAdministrator {
            try await appliance.auditWriter.record(AuditEvent(
                action: "patient.emergency_access_renew", outcome: .denied, actorKind: .staff, actorID: identity.subjectID,
                facilityID: identity.facilityID, resourceType: "patient", resourceID: patientID, patientID: patientID,
                ipAddress: origin.ipAddress, requestID: origin.requestID,
                details: ["reason": failure == .renewalLimit ? "renewal_limit" : "ended_by_administrator"]))
            throw failure
        }
    }

    /// The grants of the caller's facilities (a box-wide account: all),
    /// newest first; `unreviewed` keeps those not reviewed yet.
    public func list(_ identity: Identity, unreviewed: Bool, page: Int, limit: Int, origin: RequestOrigin) async throws -> (grants: [Grant], total: Int) {
        let scope: (sql: String, arguments: StatementArguments)
        do {
            scope = try AccessPolicy.emergencyGrantList(identity)
        } catch let error as AccessError {
            try await directory.deny(identity, action: "emergency_access.list", patientID: nil, reason: error, origin: origin)
            throw error
        }
        let condition = scope.sql + (unreviewed ? " AND e.reviewed_at IS NULL" : "")
        let result = try await appliance.database.read { db -> ([Grant], Int) in
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM emergency_access_grants e WHERE \(condition)", arguments: scope.arguments) ?? 0
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM emergency_access_grants e WHERE \(condition) ORDER BY e.granted_at DESC, e.id LIMIT ? OFFSET ?
                """, arguments: scope.arguments + [limit, (page - 1) * limit])
            return (try rows.map(grant), total)
        }
        try await appliance.auditWriter.record(AuditEvent(
            action: "emergency_access.list", outcome: .success, actorKind: .staff, actorID: identity.subjectID,
            facilityID: identity.facilityID, resourceType: "emergency_access_grant", patientIDs: result.0.map(\.patientID),
            ipAddress: origin.ipAddress, requestID: origin.requestID, details: ["count": String(result.0.count)]))
        return result
    }

    /// Records an administrator's review of a grant: appropriate or not.
    public func review(_ identity: Identity, grantID: String, outcome: String, origin: RequestOrigin) async throws -> Grant {
        let access = try await decide(identity, grantID, action: "emergency_access.review", origin: origin)
        guard Self.outcomes.contains(outcome) else { throw Failure.invalid(field: "outcome", issue: "must be one of: appropriate, inappropriate") }
        if access.staffID == identity.subjectID {
            try await appliance.auditWriter.record(event("emergency_access.review", identity, access, origin, details: ["reason": "own_grant"], outcome: .denied))
            throw Failure.ownGrant
        }
        return try await appliance.database.pool.write { db in
            let stamp = Timestamp.now()
            try db.execute(sql: """
                UPDATE emergency_access_grants SET reviewed_at = ?, reviewed_by = ?, review_outcome = ? WHERE id = ? AND reviewed_at IS NULL
                """, arguments: [stamp, identity.subjectID, outcome, grantID])
            guard db.changesCount == 1 else { throw Failure.alreadyReviewed }
            try appliance.audit.append(event("emergency_access.review", identity, access, origin, details: ["outcome": outcome]), in: db)
            return try load(grantID, in: db)
        }
    }

    /// Ends a grant before its expiry: the clinician's access closes at once.
    public func end(_ identity: Identity, grantID: String, origin: RequestOrigin) async throws -> Grant {
        let access = try await decide(identity, grantID, action: "emergency_access.end", origin: origin)
        return try await appliance.database.pool.write { db in
            let stamp = Timestamp.now()
            try db.execute(sql: """
                UPDATE emergency_access_grants SET ended_at = ?, ended_by = ? WHERE id = ? AND ended_at IS NULL AND expires_at > ?
                """, arguments: [stamp, identity.subjectID, grantID, stamp])
            guard db.changesCount == 1 else { throw Failure.alreadyEnded }
            try appliance.audit.append(event("emergency_access.end", identity, access, origin), in: db)
            return try load(grantID, in: db)
        }
    }

    func decide(_ identity: Identity, _ grantID: String, action: String, origin: RequestOrigin) async throws -> EmergencyGrantAccess {
        do {
            return try await appliance.database.read { db in
                try AccessPolicy.emergencyGrant(identity, grantID, for: .emergencyAccessReview, in: db)
            }
        } catch let error as AccessError {
            try await appliance.auditWriter.record(.denied(action, by: identity, resourceType: "emergency_access_grant",
                                                           resourceID: grantID, reason: error, origin))
            throw error == .notFound ? Failure.notFound : error
        }
    }

    func event(_ action: String, _ identity: Identity, _ access: EmergencyGrantAccess, _ origin: RequestOrigin,
               details: [String: String] = [:], outcome: AuditEvent.Outcome = .success) -> AuditEvent {
        AuditEvent(action: action, outcome: outcome, actorKind: .staff, actorID: identity.subjectID, facilityID: access.facilityID,
                   resourceType: "emergency_access_grant", resourceID: access.grantID, patientID: access.patientID,
                   ipAddress: origin.ipAddress, requestID: origin.requestID, details: details)
    }

    func load(_ id: String, in db: Database) throws -> Grant {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM emergency_access_grants WHERE id = ?", arguments: [id]) else {
            throw AccessError.notFound
        }
        return try grant(row)
    }

    func grant(_ row: Row) throws -> Grant {
        let id: String = row["id"]
        return Grant(id: id, patientID: row["patient_id"], staffID: row["staff_id"],
                     reason: try appliance.cipher.openString(row["reason_enc"], field: .emergencyAccessGrantsReason, rowID: id),
                     grantedAt: row["granted_at"], expiresAt: row["expires_at"], endedAt: row["ended_at"], renews: row["renews"],
                     reviewedAt: row["reviewed_at"], reviewedBy: row["reviewed_by"], reviewOutcome: row["review_outcome"])
    }
}
