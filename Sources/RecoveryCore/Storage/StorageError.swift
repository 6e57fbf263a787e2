/// Why the database cannot be used.
public enum StorageError: Error, CustomStringConvertible, Equatable {
    case schemaNewerThanBinary(applied: [String])
    case schemaNotInitialised(path: String)
    case durabilityNotApplied(expected: String, actual: Int)
    case auditHead(reason: String)
    /// The data directory's file system has less free space than `storage.min_free_bytes`.
    case diskNearlyFull(freeBytes: Int64, minimumBytes: Int64)

    public var description: String {
        switch self {
        case .schemaNewerThanBinary(let applied):
            return "the database was migrated by a newer version of recovery-server (unknown migrations: \(applied.joined(separator: ", "))); refusing to run. Install the newer version, or restore a backup made for this one."
        case .schemaNotInitialised(let path):
            return "no initialised database at \(path); run `recovery-server init --data-dir DIR` first"
        case .durabilityNotApplied(let expected, let actual):
            return "SQLite refused synchronous=\(expected) (reports \(actual)); refusing to run with weaker durability"
        case .auditHead(let reason):
            return "audit head file: \(reason)"
        case .diskNearlyFull(let free, let minimum):
            return "the data directory's disk has \(free) bytes free, less than storage.min_free_bytes (\(minimum)); writes are refused until space is freed"
        }
    }
}
