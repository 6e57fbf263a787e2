/// Why the database cannot be used.
public enum StorageError: Error, CustomStringConvertible, Equatable {
    case schemaNewerThanBinary(applied: [String])
    case schemaNotInitialised(path: String)
    case durabilityNotApplied(expected: String, actual: Int)
    case auditHead(reason: String)

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
        }
    }
}
