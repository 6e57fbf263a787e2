/// Who the access policy decides for. Staff and patients come from a signed-in
/// `Identity`; a federated clinic (another appliance of the organisation
/// sending aggregate metrics) is the third kind and reaches no patient record.
public enum Principal: Sendable, Equatable {
    case staff(id: String, role: StaffRole, facilityID: String?)
    case patient(id: String, facilityID: String)
    case clinic(id: String)

    public init(_ identity: Identity) {
        switch identity.kind {
        case .staff:
            // A staff token always carries a role (AccessTokens refuses one without).
            self = .staff(id: identity.subjectID, role: identity.role ?? .staff, facilityID: identity.facilityID)
        case .patient:
            self = .patient(id: identity.subjectID, facilityID: identity.facilityID ?? "")
        }
    }
}
