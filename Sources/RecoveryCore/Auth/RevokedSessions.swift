import Synchronization

/// Session ids whose access tokens must be refused before they expire
/// (logout, password change, deactivation, stolen-token detection). Checked
/// on every authenticated request, so it is an in-memory set; it is loaded
/// from the database at start-up so a restart forgets nothing.
public final class RevokedSessions: Sendable {
    private let ids = Mutex<Set<String>>([])

    public init() {}

    public func contains(_ sessionID: String) -> Bool { ids.withLock { $0.contains(sessionID) } }

    public func insert<S: Sequence>(_ sessionIDs: S) where S.Element == String {
        ids.withLock { $0.formUnion(sessionIDs) }
    }

    public var count: Int { ids.withLock { $0.count } }
}
