import Synchronization

/// A set of ids checked on every request, so kept in memory behind a lock
/// and loaded from the database at start-up: the revoked sessions and the
/// staff who must change an administrator-set password.
public final class IDSet: Sendable {
    private let ids = Mutex<Set<String>>([])

    public init() {}

    public func contains(_ id: String) -> Bool { ids.withLock { $0.contains(id) } }

    public func insert<S: Sequence>(_ newIDs: S) where S.Element == String {
        ids.withLock { $0.formUnion(newIDs) }
    }

    public func remove(_ id: String) {
        _ = ids.withLock { $0.remove(id) }
    }

    public var count: Int { ids.withLock { $0.count } }
}
