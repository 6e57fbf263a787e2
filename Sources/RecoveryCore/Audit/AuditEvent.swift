/// One entry for the audit trail (HIPAA §164.312(b)): who did what to which
/// record, when, from where, with what outcome. Never carries PHI, passwords
/// or tokens: `details` holds codes and ids only.
public struct AuditEvent: Sendable, Equatable {
    public enum ActorKind: String, Sendable { case staff, patient, system, anonymous }
    public enum Outcome: String, Sendable { case success, failure, denied }

    public var action: String
    public var outcome: Outcome
    public var actorKind: ActorKind
    public var actorID: String?
    public var facilityID: String?
    public var resourceType: String?
    public var resourceID: String?
    public var patientID: String?
    public var patientIDs: [String]?
    public var ipAddress: String?
    public var requestID: String?
    public var details: [String: String]

    public init(action: String, outcome: Outcome, actorKind: ActorKind, actorID: String? = nil, facilityID: String? = nil,
                resourceType: String? = nil, resourceID: String? = nil, patientID: String? = nil, patientIDs: [String]? = nil,
                ipAddress: String? = nil, requestID: String? = nil, details: [String: String] = [:]) {
        self.action = action
        self.outcome = outcome
        self.actorKind = actorKind
        self.actorID = actorID
        self.facilityID = facilityID
        self.resourceType = resourceType
        self.resourceID = resourceID
        self.patientID = patientID
        self.patientIDs = patientIDs
        self.ipAddress = ipAddress
        self.requestID = requestID
        self.details = details
    }
}

extension AuditEvent {
    /// The entry of a refusal by the access policy: who tried what on which
    /// record, and the policy's reason.
    public static func denied(_ action: String, by identity: Identity, resourceType: String, resourceID: String? = nil,
                              patientID: String? = nil, reason: AccessError, _ origin: RequestOrigin) -> AuditEvent {
        AuditEvent(action: action, outcome: .denied, actorKind: identity.auditActor, actorID: identity.subjectID,
                   facilityID: identity.facilityID, resourceType: resourceType, resourceID: resourceID, patientID: patientID,
                   ipAddress: origin.ipAddress, requestID: origin.requestID, details: ["reason": reason.auditReason])
    }
}

/// Where a request came from, for audit entries and rate limits.
public struct RequestOrigin: Sendable, Equatable {
    public var ipAddress: String?
    public var requestID: String?
    public var device: String?

    public init(ipAddress: String? = nil, requestID: String? = nil, device: String? = nil) {
        self.ipAddress = ipAddress
        self.requestID = requestID
        self.device = device
    }
}
