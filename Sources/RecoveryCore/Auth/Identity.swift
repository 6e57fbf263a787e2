import Foundation

/// Who is calling: established from a verified access token.
public struct Identity: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable { case staff, patient }

    public var kind: Kind
    /// The staff or patient id.
    public var subjectID: String
    /// The staff role, or nil for a patient.
    public var role: StaffRole?
    /// nil only for a super admin.
    public var facilityID: String?
    /// The session (refresh-token family) the token belongs to.
    public var sessionID: String
    /// When the access token was issued (sign-in or refresh); nil when not from a token.
    public var issuedAt: Date?

    public init(kind: Kind, subjectID: String, role: StaffRole?, facilityID: String?, sessionID: String, issuedAt: Date? = nil) {
        self.kind = kind
        self.subjectID = subjectID
        self.role = role
        self.facilityID = facilityID
        self.sessionID = sessionID
        self.issuedAt = issuedAt
    }

    public var auditActor: AuditEvent.ActorKind { kind == .staff ? .staff : .patient }
}
