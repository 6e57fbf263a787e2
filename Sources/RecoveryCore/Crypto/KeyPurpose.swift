/// The purposes sub-keys are derived for. Each maps to a frozen 8-byte
/// libsodium KDF context: changing one would make existing data unreadable,
/// so the values are pinned by known-answer tests.
public enum KeyPurpose: String, CaseIterable, Sendable {
    case fieldEncryption = "RAfields"
    case blindIndex = "RAbindex"
    case documents = "RAdocmnt"
    case backups = "RAbackup"
    case tokens = "RAtokens"
    case federationSigning = "RAfedsig"
    case auditChain = "RAauditc"
    case keyCheck = "RAkeychk"
    /// Seals the audit chain's head kept outside the database (`AuditAnchor`).
    case auditHead = "RAaudhed"
    /// Seeds the optional noise on federation counts, so a preview draws what is sent.
    case federationNoise = "RAfednoi"

    var context: [CChar] { Array(rawValue.utf8CString.dropLast()) }
}
