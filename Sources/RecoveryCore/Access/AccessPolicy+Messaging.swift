import GRDB

/// Conversations and message templates (`ConversationRules`, `FacilityReach`).
extension AccessPolicy {
    /// Decides whether `identity` may read and write in one conversation:
    /// staff need `messages.use`; then every conversation rule is evaluated on
    /// the conversation's row in one statement.
    public static func conversation(_ identity: Identity, _ conversationID: String, in db: Database) throws -> ConversationAccess {
        if identity.kind == .staff { try require(identity, .messagesUse) }
        let rules = ConversationRules.rules(for: Principal(identity), at: Timestamp.now())
        let (row, grounds) = try rules.decide("conversations", alias: "c", id: conversationID,
                                              extra: ["c.facility_id", "c.kind", "c.patient_id"], in: db)
        return ConversationAccess(conversationID: conversationID, facilityID: row[0], kind: row[1], patientID: row[2],
                                  basis: ConversationRules.basis(grounds))
    }

    /// The conversations `identity` may list: the same rules as
    /// `conversation(...)`, as a condition on `conversations c`.
    public static func conversationList(_ identity: Identity) throws -> (sql: String, arguments: StatementArguments) {
        if identity.kind == .staff { try require(identity, .messagesUse) }
        return ConversationRules.rules(for: Principal(identity), at: Timestamp.now()).condition
    }

    /// Whether the staff account `staffID` may be made a participant of a
    /// conversation of `facilityID`: an active account of that facility whose
    /// role carries `messages.use` and, for a care conversation, whom the
    /// patient rules let reach `patientID` (so the conversation rule admits
    /// them once they are in). `careTeamOnly` (a patient choosing whom to
    /// write to) also asks for a current place on the patient's care team.
    static func mayTakePart(staffID: String, facilityID: String, patientID: String?, careTeamOnly: Bool = false,
                            in db: Database) throws -> Bool {
        guard let row = try Row.fetchOne(db, sql: "SELECT role, facility_id FROM staff WHERE id = ? AND is_active = 1", arguments: [staffID]),
              let role = StaffRole(rawValue: row["role"]), (row["facility_id"] as String?) == facilityID,
              RolePermissions.allows(role, .messagesUse) else { return false }
        guard let patientID else { return true }
        let now = Timestamp.now()
        let principal = Principal.staff(id: staffID, role: role, facilityID: facilityID)
        do {
            _ = try PatientRules.rules(for: principal, .messagesUse, at: now).decide("patients", alias: "p", id: patientID, extra: [], in: db)
        } catch is AccessError {
            return false
        }
        guard careTeamOnly else { return true }
        let ground = PatientRules.onCareTeam(staffID, at: now)
        return try Bool.fetchOne(db, sql: "SELECT (\(ground.sql)) FROM patients p WHERE p.id = ?", arguments: ground.arguments + [patientID]) ?? false
    }

    /// The active staff on the patient's care team now, who may take part in
    /// its care conversations.
    static func careTeamParticipants(of patientID: String, facilityID: String, in db: Database) throws -> [String] {
        let candidates = try String.fetchAll(db, sql: """
            SELECT DISTINCT staff_id FROM care_team_assignments WHERE facility_id = ? AND patient_id = ? ORDER BY staff_id
            """, arguments: [facilityID, patientID])
        return try candidates.filter { try mayTakePart(staffID: $0, facilityID: facilityID, patientID: patientID, careTeamOnly: true, in: db) }
    }

    /// Decides whether `identity` may use `permission` on a message template
    /// (the facility rule); returns the template's facility.
    public static func messageTemplate(_ identity: Identity, _ templateID: String, for permission: Permission, in db: Database) throws -> String {
        try require(identity, permission)
        let rules = FacilityReach.rules(for: Principal(identity), column: "t.facility_id")
        let live = AccessRule(name: .live, refusal: .notFound, grounds: [AccessGround("live", "t.deleted_at IS NULL")])
        let (row, _) = try AccessRules(rules: rules.rules + [live]).decide("message_templates", alias: "t", id: templateID,
                                                                            extra: ["t.facility_id"], in: db)
        return row[0]
    }

    /// The message templates `identity` may list, as a condition on `message_templates t`.
    public static func messageTemplateList(_ identity: Identity) throws -> (sql: String, arguments: StatementArguments) {
        try require(identity, .messagesUse)
        let reach = FacilityReach.rules(for: Principal(identity), column: "t.facility_id").condition
        return (reach.sql + " AND t.deleted_at IS NULL", reach.arguments)
    }
}

/// A decided access to a conversation.
public struct ConversationAccess: Sendable, Equatable {
    public var conversationID: String
    public var facilityID: String
    /// care, staff or group
    public var kind: String
    /// The patient of a care conversation.
    public var patientID: String?
    /// participant, care_team, named, emergency (recorded in the audit entry)
    public var basis: String
}
