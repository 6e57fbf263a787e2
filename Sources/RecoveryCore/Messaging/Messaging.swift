import Foundation
import GRDB

/// Conversations between a patient and their care team, staff threads and
/// therapy groups: creating them, listing them with unread counts, paging
/// their messages, sending and marking read. Every decision is the access
/// policy's (`AccessPolicy.conversation`), taken inside the read or write it
/// guards; every refusal is audited. Writes append their feed events
/// (`message:new`, `message:read`) in their own transaction and ring the
/// event bus after the commit. The realtime hub calls `send`, `markRead` and
/// `typingRecipients` and gets the same errors as the REST API.
public struct Messaging: Sendable {
    /// The longest message body, in characters.
    public static let maxBodyLength = 4000
    public static let maxTitleLength = 200
    public static let maxAliasLength = 60
    public static let maxClientIDLength = 100
    /// At most this many staff, and this many patients, named when creating a conversation.
    public static let maxParticipants = 50

    public enum Failure: Error, Equatable, Sendable {
        /// Fields and what is wrong with each (422).
        case invalid([String: String])
        /// No such conversation, or not one the caller may learn of (404).
        case notFound
        /// The client id was used before for another message (409).
        case clientIDConflict
        /// A patient without a care team has nobody to write to (409).
        case noCareTeam

        static func invalid(_ field: String, _ issue: String) -> Failure { .invalid([field: issue]) }
    }

    let appliance: Appliance
    var pool: DatabasePool { appliance.database.pool }

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    /// Audits a refusal of the policy and answers the error to throw: a
    /// conversation's 404 as `Failure.notFound`, other refusals as they are.
    func refused(_ error: AccessError, _ action: String, _ identity: Identity, conversationID: String?, patientID: String? = nil,
                 origin: RequestOrigin) async throws -> any Error {
        try await appliance.auditWriter.record(.denied(action, by: identity, resourceType: conversationID == nil && patientID != nil ? "patient" : "conversation",
                                                       resourceID: conversationID ?? patientID, patientID: patientID, reason: error, origin))
        return error == .notFound && conversationID != nil ? Failure.notFound : error
    }

    func event(_ action: String, _ identity: Identity, _ access: ConversationAccess, _ origin: RequestOrigin,
               details: [String: String] = [:]) -> AuditEvent {
        AuditEvent(action: action, outcome: .success, actorKind: identity.auditActor, actorID: identity.subjectID,
                   facilityID: access.facilityID, resourceType: "conversation", resourceID: access.conversationID,
                   patientID: access.patientID, ipAddress: origin.ipAddress, requestID: origin.requestID,
                   details: details.merging(["access": access.basis]) { a, _ in a })
    }

    /// The listeners among `listeners` who should see that `identity` is
    /// typing in the conversation: the other people the policy lets read it.
    /// Throws the policy's refusal when `identity` may not use it (the
    /// caller audits it).
    public func typingRecipients(_ identity: Identity, conversationID: String, among listeners: [Listener], in db: Database) throws -> [Listener] {
        _ = try AccessPolicy.conversation(identity, conversationID, in: db)
        return try listeners.filter { listener in
            guard listener.identity.kind != identity.kind || listener.identity.subjectID != identity.subjectID else { return false }
            return try Self.admits(listener.identity, conversationID, in: db) != nil
        }
    }

    /// The policy's decision for one identity, nil when it refuses.
    static func admits(_ identity: Identity, _ conversationID: String, in db: Database) throws -> ConversationAccess? {
        try EventDelivery.admitted { try AccessPolicy.conversation(identity, conversationID, in: db) }
    }

    /// A lowercase UUID, or nil when `text` is not one.
    static func uuid(_ text: String) -> String? {
        UUID(uuidString: text).map { $0.uuidString.lowercased() }
    }
}

/// Who looks at a conversation: a staff member or a patient, by id.
struct Viewer: Sendable, Equatable {
    var kind: Identity.Kind
    var id: String

    init(_ identity: Identity) {
        kind = identity.kind
        id = identity.subjectID
    }

    /// A condition on a participant row `alias` that it is this viewer.
    func participant(_ alias: String) -> (sql: String, arguments: StatementArguments) {
        kind == .staff ? ("\(alias).staff_id = ?", [id]) : ("\(alias).patient_id = ?", [id])
    }

    /// A condition on a message row `alias` that someone else sent it.
    func notSender(_ alias: String) -> (sql: String, arguments: StatementArguments) {
        kind == .staff ? ("\(alias).sender_staff_id IS NOT ?", [id]) : ("\(alias).sender_patient_id IS NOT ?", [id])
    }
}
