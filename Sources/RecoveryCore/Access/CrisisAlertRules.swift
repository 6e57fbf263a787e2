import GRDB

/// Who reaches a crisis alert, declared once as grounds on the alert row `a`
/// (`crisis_alerts a`); a list uses them as its condition and one alert is
/// decided by the same grounds on its row.
///
/// - facility: staff of the alert's facility (a box-wide account: every
///   facility); otherwise 404.
/// - live: the patient is not deleted; otherwise 404.
/// - crisis reach (otherwise 403 `not_on_care_team`), any of:
///   - patient: the caller reaches the patient under `PatientRules` with
///     `crisis.respond` (care team, restriction, emergency access as for any
///     patient record; administrators: the whole facility);
///   - escalated_admins: escalation level ≥ 1 and the caller administers the
///     facility (they reach it anyway; the ground names why in the audit);
///   - escalated_on_shift: escalation level ≥ 2 and the caller is on shift.
/// - own: a patient reaches the alerts about themselves and no other.
///
/// **On shift**: an active staff account with a session that is live now:
/// not revoked, not rotated away, its idle expiry (the last request the
/// server recorded plus `auth.staff_idle_timeout_minutes`; recorded at
/// sign-in, at each refresh and once a minute from request activity) and
/// its absolute expiry still ahead. In words: signed in and used within the
/// staff idle timeout. Level 2 is an emergency ground like breaking the
/// glass: it passes a restriction and the care team, and is audited by name.
enum CrisisAlertRules {
    static func rules(for principal: Principal, at now: String) -> AccessRules {
        let live = AccessRule(name: .live, refusal: .notFound, grounds: [AccessGround("live", """
            EXISTS (SELECT 1 FROM patients lp WHERE lp.facility_id = a.facility_id AND lp.id = a.patient_id AND lp.deleted_at IS NULL)
            """)])
        switch principal {
        case .patient(let id, let facilityID):
            return AccessRules(rules: [
                AccessRule(name: .own, refusal: .notFound, grounds: [AccessGround("own", "(a.patient_id = ? AND a.facility_id = ?)", [id, facilityID])]),
                live,
            ])
        case .clinic:
            return AccessRules(rules: [AccessRule(name: .facility, refusal: .notFound, grounds: [AccessGround("none", "0")])])
        case .staff(let id, let role, let facilityID):
            let facility = facilityID.map { AccessGround("facility", "a.facility_id = ?", [$0]) } ?? AccessGround("facility", "1")
            let patient = PatientRules.rules(for: principal, .crisisRespond, at: now).condition
            var reach = [AccessGround("patient", """
                EXISTS (SELECT 1 FROM patients p WHERE p.facility_id = a.facility_id AND p.id = a.patient_id AND \(patient.sql))
                """, patient.arguments)]
            if RolePermissions.allows(role, .staffManage) {
                reach.append(AccessGround("escalated_admins", "a.escalation_level >= 1"))
            }
            reach.append(AccessGround("escalated_on_shift", "(a.escalation_level >= 2 AND \(onShift.sql))", [id, now, now]))
            return AccessRules(rules: [
                AccessRule(name: .facility, refusal: .notFound, grounds: [facility]),
                live,
                AccessRule(name: .crisisReach, refusal: .notOnCareTeam, grounds: reach),
            ])
        }
    }

    /// The staff member (argument 1) is on shift at the time (arguments 2 and 3).
    static let onShift = (sql: """
        EXISTS (SELECT 1 FROM sessions s JOIN staff st ON st.id = s.staff_id
                WHERE s.staff_id = ? AND st.is_active = 1 AND s.revoked_at IS NULL AND s.rotated_at IS NULL
                  AND s.idle_expires_at > ? AND s.absolute_expires_at > ?)
        """, count: 3)
}

/// Who reads an announcement, and who manages it, as grounds on `announcements n`.
///
/// - reader: the announcement's facility (a box-wide account: every one),
///   its audience (`all`, `staff` for staff, `patients` for patients), and
///   when it is targeted (`targeted = 1`) only the recipients it names;
///   live: published (its time has come), not expired, not retracted.
///   Everything else is 404.
/// - manager (`announcements.manage`): every announcement of the facility, in
///   any state (drafts, scheduled, expired, retracted).
enum AnnouncementRules {
    static func reader(_ principal: Principal, at now: String) -> AccessRules {
        let live = AccessRule(name: .live, refusal: .notFound, grounds: [AccessGround("live", """
            (n.deleted_at IS NULL AND n.retracted_at IS NULL AND n.published_at IS NOT NULL AND n.published_at <= ?
             AND (n.expires_at IS NULL OR n.expires_at > ?))
            """, [now, now])])
        switch principal {
        case .staff(let id, _, let facilityID):
            let facility = facilityID.map { AccessGround("facility", "n.facility_id = ?", [$0]) } ?? AccessGround("facility", "1")
            return AccessRules(rules: [
                AccessRule(name: .facility, refusal: .notFound, grounds: [facility]),
                AccessRule(name: .audience, refusal: .notFound, grounds: [AccessGround("audience", """
                    (n.audience IN ('all', 'staff') AND (n.targeted = 0 OR EXISTS (SELECT 1 FROM announcement_recipients r
                     WHERE r.announcement_id = n.id AND r.staff_id = ?)))
                    """, [id])]),
                live,
            ])
        case .patient(let id, let facilityID):
            return AccessRules(rules: [
                AccessRule(name: .facility, refusal: .notFound, grounds: [AccessGround("own", "n.facility_id = ?", [facilityID])]),
                AccessRule(name: .audience, refusal: .notFound, grounds: [AccessGround("audience", """
                    (n.audience IN ('all', 'patients') AND (n.targeted = 0 OR EXISTS (SELECT 1 FROM announcement_recipients r
                     WHERE r.announcement_id = n.id AND r.facility_id = n.facility_id AND r.patient_id = ?)))
                    """, [id])]),
                live,
            ])
        case .clinic:
            return AccessRules(rules: [AccessRule(name: .facility, refusal: .notFound, grounds: [AccessGround("none", "0")])])
        }
    }

    static func manager(_ principal: Principal) -> AccessRules {
        FacilityReach.rules(for: principal, column: "n.facility_id")
    }
}
