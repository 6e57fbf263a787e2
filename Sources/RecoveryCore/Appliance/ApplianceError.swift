/// Why the appliance cannot start or an operator command cannot proceed.
public enum ApplianceError: Error, CustomStringConvertible, Equatable {
    case notInitialised(dataDirectory: String)
    case wrongMasterKey(keyFile: String)
    case keyWithoutDatabase(keyFile: String)
    case invalidInput(field: String, reason: String)
    case tlsFileUnwritable(path: String, reason: String)
    case tlsFileUnreadable(path: String, reason: String)
    case tlsPairIncomplete(present: String, missing: String)
    case keyCheckMissing(dataDirectory: String)
    case auditHeadInvalid(path: String)
    case auditTrailCutBack(path: String, seq: Int64, tableSeq: Int64)
    case masterKeyVersionMissing(version: UInt32, keyFile: String)

    public var description: String {
        switch self {
        case .notInitialised(let dir):
            return "\(dir) holds no initialised appliance; run `recovery-server init --data-dir \(dir)` first"
        case .wrongMasterKey(let keyFile):
            return "the master key in \(keyFile) is not the key this database was created with; refusing to start. Point key_file / --key-file at the right key."
        case .keyWithoutDatabase(let keyFile):
            return "\(keyFile) exists but there is no database beside it; move the key away or restore the database before running init"
        case .invalidInput(let field, let reason):
            return "\(field): \(reason)"
        case .tlsFileUnwritable(let path, let reason):
            return "cannot write \(path): \(reason)"
        case .tlsFileUnreadable(let path, let reason):
            return "cannot use the TLS certificate \(path): \(reason)"
        case .tlsPairIncomplete(let present, let missing):
            return "\(present) exists but \(missing) does not; restore it, or move both away to have a new pair made (clients must then pin the new fingerprint)"
        case .keyCheckMissing(let dir):
            return "the database in \(dir) holds no master key check, so it was never completely initialised; refusing to start with whatever key is at hand. Restore the database from a backup, or move the directory away and run init again."
        case .auditHeadInvalid(let path):
            return "\(path) is damaged, altered or not sealed with this box's master key; refusing to start. Run `recovery-server audit verify`; to start anyway, move the file aside (keep it as evidence) and the server writes a new one."
        case .masterKeyVersionMissing(let version, let keyFile):
            return "master key version \(version) is needed but \(keyFile) does not exist; restore that key file (mode 0600) from where it was kept"
        case .auditTrailCutBack(let path, let seq, let tableSeq):
            return "the audit trail no longer holds entry \(seq) that \(path) names (it ends at entry \(tableSeq)): entries were removed, or the database was restored from an older copy; refusing to start. Run `recovery-server audit verify`; to start anyway, move the file aside (keep it as evidence) and the server writes a new one."
        }
    }
}
