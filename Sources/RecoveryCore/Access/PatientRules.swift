import GRDB

/// The rules that decide which patients a principal reaches, declared once.
/// Each rule's grounds are SQL on the patient row `p`; a list uses them as
/// its condition and a single record is decided by evaluating the same
/// grounds on its row, so the two cannot drift apart.
///
/// - facility: staff reach their own facility (a box-wide role, every one);
///   another facility's patient is 404, as if it did not exist.
/// - live: a deleted patient is 404 (except to restore it).
/// - restriction: a restricted patient is open to the staff who manage the
///   restriction (`patients.restrict`), to staff named for them, and during
///   emergency access; others get 403 `restricted`.
/// - care team: roles whose reach is their caseload see the patients they
///   are assigned to now (an ended assignment closes at once), or during
///   emergency access; others get 403 `not_on_care_team`. A named grant on a
///   restricted patient lifts the restriction only, never this rule.
/// - own: a patient reaches their own record and nothing else.
/// - `emergency_access.use` (asking to break the glass) reaches the
///   facility's live patients past the restriction and care-team rules.
///
/// A conversation's rules (`ConversationRules`) reuse these on the patient of a
/// care conversation; documents visible to the patient are to come, declared the same way.
enum PatientRules {
    static func rules(for principal: Principal, _ permission: Permission, includeDeleted: Bool = false, at now: String) -> AccessRules {
        var rules: [AccessRule] = []
        let live = AccessRule(name: .live, refusal: .notFound, grounds: [AccessGround("live", "p.deleted_at IS NULL")])
        switch principal {
        case .patient(let id, _):
            rules.append(AccessRule(name: .own, refusal: .notFound, grounds: [AccessGround("own", "p.id = ?", [id])]))
            rules.append(live)
        case .clinic:
            rules.append(AccessRule(name: .facility, refusal: .notFound, grounds: [AccessGround("none", "0")]))
        case .staff(let id, let role, let facilityID):
            let reach = facilityID.map { AccessGround("facility", "p.facility_id = ?", [$0]) } ?? AccessGround("facility", "1")
            rules.append(AccessRule(name: .facility, refusal: .notFound, grounds: [reach]))
            if !includeDeleted { rules.append(live) }
            // Breaking the glass is how the two rules below are lifted, so it reaches past them.
            if permission == .emergencyAccess { break }
            if !RolePermissions.allows(role, .patientsRestrict) {
                rules.append(AccessRule(name: .restriction, refusal: .restricted, grounds: [
                    AccessGround("facility", "p.is_restricted = 0"),
                    AccessGround("named", """
                        EXISTS (SELECT 1 FROM patient_access_grants g WHERE g.patient_id = p.id AND g.staff_id = ? AND g.revoked_at IS NULL)
                        """, [id]),
                    emergency(id, now),
                ]))
            }
            if RolePermissions.reach(role) == .careTeam {
                rules.append(AccessRule(name: .careTeam, refusal: .notOnCareTeam, grounds: [onCareTeam(id, at: now), emergency(id, now)]))
            }
        }
        return AccessRules(rules: rules)
    }

    /// The staff member is on the patient's care team now: the assignment has
    /// started and not been ended.
    static func onCareTeam(_ staffID: String, at now: String) -> AccessGround {
        AccessGround("care_team", """
            EXISTS (SELECT 1 FROM care_team_assignments t WHERE t.facility_id = p.facility_id AND t.patient_id = p.id
                    AND t.staff_id = ? AND t.starts_on <= ? AND (t.ended_at IS NULL OR t.ended_at > ?))
            """, [staffID, String(now.prefix(10)), now])
    }

    /// Break-the-glass access of this staff member, neither expired nor ended.
    static func emergency(_ staffID: String, _ now: String) -> AccessGround {
        AccessGround("emergency", """
            EXISTS (SELECT 1 FROM emergency_access_grants e WHERE e.facility_id = p.facility_id AND e.staff_id = ?
                    AND e.patient_id = p.id AND e.expires_at > ? AND e.ended_at IS NULL)
            """, [staffID, now])
    }

    /// The basis recorded in the audit entry: the strongest exception that
    /// was needed, else the ordinary ground.
    static func basis(_ grounds: [String]) -> String {
        for name in ["emergency", "named", "care_team"] where grounds.contains(name) { return name }
        return grounds.first ?? "facility"
    }
}
