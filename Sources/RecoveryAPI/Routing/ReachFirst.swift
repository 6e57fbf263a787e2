import RecoveryCore

extension AuthenticatedContext {
    /// Decides access to the patient before a write's body is read, so a caller
    /// who may not reach the patient gets the policy's 404 or 403 (audited),
    /// never a validation answer about a record it cannot see. The core
    /// decides again when it writes.
    func reachFirst(patient patientID: String, _ permission: Permission, action: String, _ appliance: Appliance) async throws {
        _ = try await PatientDirectory(appliance: appliance).authorize(identity, patientID, permission, action: action, origin: origin)
    }
}
