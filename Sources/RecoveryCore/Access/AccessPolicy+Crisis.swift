import Foundation
import GRDB

/// Crisis alerts and announcements (`CrisisAlertRules`, `AnnouncementRules`).
extension AccessPolicy {
    // MARK: Crisis alerts

    /// Decides whether `identity` reaches one crisis alert: staff with
    /// `crisis.respond` by the crisis-alert rules, a patient their own alerts.
    /// `now` decides care-team dates, emergency grants and who is on shift.
    public static func crisisAlert(_ identity: Identity, _ alertID: String, at now: Date = Date(), in db: Database) throws -> CrisisAlertAccess {
        if identity.kind == .staff { try require(identity, .crisisRespond) }
        let rules = CrisisAlertRules.rules(for: Principal(identity), at: Timestamp.string(now))
        let (row, grounds) = try rules.decide("crisis_alerts", alias: "a", id: alertID, extra: ["a.facility_id", "a.patient_id"], in: db)
        return CrisisAlertAccess(alertID: alertID, facilityID: row[0], patientID: row[1], basis: grounds.last ?? "own")
    }

    /// The crisis alerts `identity` may list, as a condition on `crisis_alerts a`.
    public static func crisisAlertList(_ identity: Identity, at now: Date = Date()) throws -> (sql: String, arguments: StatementArguments) {
        if identity.kind == .staff { try require(identity, .crisisRespond) }
        return CrisisAlertRules.rules(for: Principal(identity), at: Timestamp.string(now)).condition
    }

    // MARK: Announcements

    /// Decides whether `identity` (staff or patient) may read one announcement.
    public static func announcement(_ identity: Identity, _ announcementID: String, at now: Date = Date(), in db: Database) throws -> AnnouncementAccess {
        let (row, _) = try AnnouncementRules.reader(Principal(identity), at: Timestamp.string(now))
            .decide("announcements", alias: "n", id: announcementID, extra: ["n.facility_id"], in: db)
        return AnnouncementAccess(announcementID: announcementID, facilityID: row[0])
    }

    /// The announcements `identity` reads, as a condition on `announcements n`.
    public static func announcementList(_ identity: Identity, at now: Date = Date()) -> (sql: String, arguments: StatementArguments) {
        AnnouncementRules.reader(Principal(identity), at: Timestamp.string(now)).condition
    }

    /// Decides whether `identity` may manage (edit, retract) one announcement.
    public static func managedAnnouncement(_ identity: Identity, _ announcementID: String, in db: Database) throws -> AnnouncementAccess {
        try require(identity, .announcementsManage)
        let (row, _) = try AnnouncementRules.manager(Principal(identity))
            .decide("announcements", alias: "n", id: announcementID, extra: ["n.facility_id"], in: db)
        return AnnouncementAccess(announcementID: announcementID, facilityID: row[0])
    }

    /// The announcements `identity` manages, as a condition on `announcements n`.
    public static func managedAnnouncementList(_ identity: Identity) throws -> (sql: String, arguments: StatementArguments) {
        try require(identity, .announcementsManage)
        return AnnouncementRules.manager(Principal(identity)).condition
    }
}

/// A decided access to a crisis alert: its facility, patient and the ground
/// of the crisis-reach rule that held (patient, escalated_admins,
/// escalated_on_shift; own for the patient).
public struct CrisisAlertAccess: Sendable, Equatable {
    public var alertID: String
    public var facilityID: String
    public var patientID: String
    public var basis: String
}

/// A decided access to an announcement.
public struct AnnouncementAccess: Sendable, Equatable {
    public var announcementID: String
    public var facilityID: String
}
