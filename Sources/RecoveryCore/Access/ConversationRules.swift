import GRDB

/// The rules that decide which conversations a principal reaches, declared
/// once as grounds on the conversation row `c`, used as a list's condition
/// and, evaluated on one row, as the decision for one conversation.
///
/// - facility: the conversation belongs to the caller's facility (a box-wide
///   account: any); otherwise 404.
/// - live: a deleted conversation is 404.
/// - participant: the caller takes part and has not left (staff by staff id,
///   a patient by patient id); otherwise 404: nobody learns of a conversation
///   they are not in, administrators included.
/// - the patient rules (`PatientRules`, permission `messages.use`) on the
///   patient of a `care` conversation, with their own refusals: a counselor
///   who leaves the patient's care team loses the conversation at once
///   (403 `not_on_care_team`), a restricted patient's conversation closes to
///   staff not named for them, a deleted patient's is 404. Staff threads and
///   groups pass these rules (ground `not_care`).
enum ConversationRules {
    static func rules(for principal: Principal, at now: String) -> AccessRules {
        var rules: [AccessRule] = []
        let participant: AccessGround
        switch principal {
        case .clinic:
            return AccessRules(rules: [AccessRule(name: .facility, refusal: .notFound, grounds: [AccessGround("none", "0")])])
        case .patient(let id, let facilityID):
            rules.append(AccessRule(name: .facility, refusal: .notFound, grounds: [AccessGround("facility", "c.facility_id = ?", [facilityID])]))
            participant = AccessGround("participant", """
                EXISTS (SELECT 1 FROM conversation_participants cp WHERE cp.facility_id = c.facility_id AND cp.patient_id = ?
                        AND cp.conversation_id = c.id AND cp.left_at IS NULL)
                """, [id])
        case .staff(let id, _, let facilityID):
            let reach = facilityID.map { AccessGround("facility", "c.facility_id = ?", [$0]) } ?? AccessGround("facility", "1")
            rules.append(AccessRule(name: .facility, refusal: .notFound, grounds: [reach]))
            participant = AccessGround("participant", """
                EXISTS (SELECT 1 FROM conversation_participants cp WHERE cp.staff_id = ? AND cp.conversation_id = c.id
                        AND cp.left_at IS NULL)
                """, [id])
        }
        rules.append(AccessRule(name: .live, refusal: .notFound, grounds: [AccessGround("live", "c.deleted_at IS NULL")]))
        rules.append(AccessRule(name: .participant, refusal: .notFound, grounds: [participant]))
        // Each patient rule, on the care conversation's patient.
        for rule in PatientRules.rules(for: principal, .messagesUse, at: now).rules {
            let grounds = [AccessGround("not_care", "c.kind <> 'care'")] + rule.grounds.map { ground in
                AccessGround(ground.name, """
                    EXISTS (SELECT 1 FROM patients p WHERE p.facility_id = c.facility_id AND p.id = c.patient_id AND (\(ground.sql)))
                    """, ground.arguments)
            }
            rules.append(AccessRule(name: rule.name, refusal: rule.refusal, grounds: grounds))
        }
        return AccessRules(rules: rules)
    }

    /// The basis recorded in audit entries: the strongest exception that was
    /// needed on the patient of a care conversation, else "participant".
    static func basis(_ grounds: [String]) -> String {
        for name in ["emergency", "named", "care_team"] where grounds.contains(name) { return name }
        return "participant"
    }
}
