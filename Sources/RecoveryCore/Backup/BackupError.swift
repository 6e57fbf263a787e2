/// Why a backup could not be written, verified or restored. Messages name
/// files and counts, never contents or key material.
public enum BackupError: Error, Equatable, CustomStringConvertible {
    case destinationExists(path: String)
    case cannotWrite(path: String, reason: String)
    case cannotRead(path: String, reason: String)
    case notABackup(path: String)
    case unsupportedFormat(version: UInt32)
    /// Fails authentication at its first message: another box's key, or a rotated-away one.
    case wrongKey(path: String)
    case damaged(path: String, reason: String)
    case fileChanged(path: String)
    case newerSchema(backup: Int, binary: Int)
    case verificationFailed(reason: String)
    case targetNotEmpty(directory: String, entry: String)
    case keyFileMissing(path: String)
    /// The archive is sealed under a master-key version whose key file is not at hand.
    case keyVersionMissing(version: UInt32, keyFile: String)

    public var description: String {
        switch self {
        case .destinationExists(let path):
            return "\(path) already exists; refusing to overwrite it (choose another file name)"
        case .cannotWrite(let path, let reason):
            return "cannot write \(path): \(reason)"
        case .cannotRead(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .notABackup(let path):
            return "\(path) is not a Recovery Appliance backup"
        case .unsupportedFormat(let version):
            return "the backup has format version \(version), which this recovery-server does not read (a newer version made it)"
        case .wrongKey(let path):
            return "\(path) cannot be opened with this master key: it was made with another box's key (or a key since rotated away), or it is damaged"
        case .damaged(let path, let reason):
            return "\(path) is damaged or was altered: \(reason)"
        case .fileChanged(let path):
            return "\(path) changed size while it was being backed up; run the backup again"
        case .newerSchema(let backup, let binary):
            return "the backup holds schema version \(backup), newer than this recovery-server's \(binary); restore it with a newer recovery-server"
        case .verificationFailed(let reason):
            return "backup verification failed: \(reason)"
        case .targetNotEmpty(let directory, let entry):
            return "\(directory) is not empty (it holds \(entry)); restore only into a new directory, or one that holds nothing but the master key file"
        case .keyVersionMissing(let version, let keyFile):
            return "the backup was made under master key version \(version), and its key file \(keyFile) is not here: put the copy kept from that time there (mode 0600), then run this again"
        case .keyFileMissing(let path):
            return "the master key file \(path) is not there: a restore needs the key the backup was made with. Copy it into the new directory as master.key, or give --key-file"
        }
    }
}
