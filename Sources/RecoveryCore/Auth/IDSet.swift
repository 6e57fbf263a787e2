import Foundation
import Synchronization

/// A set of ids checked on every request, so kept in memory behind a lock
/// and loaded from the database at start-up: the revoked sessions and the
/// staff who must change an administrator-set password.
public final class IDSet: Sendable {
    private let ids = Mutex<Set<String>>([])
    private let watchers = Mutex<[UUID: AsyncStream<[String]>.Continuation]>([:])

    public init() {}

    public func contains(_ id: String) -> Bool { ids.withLock { $0.contains(id) } }

    public func insert<S: Sequence>(_ newIDs: S) where S.Element == String {
        let added = Array(newIDs)
        ids.withLock { $0.formUnion(added) }
        guard !added.isEmpty else { return }
        for watcher in watchers.withLock({ Array($0.values) }) { watcher.yield(added) }
    }

    /// The ids inserted from now on, as they are inserted (e.g. a revoked
    /// session's open sockets are closed at once).
    public func insertions() -> AsyncStream<[String]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [String].self)
        let id = UUID()
        continuation.onTermination = { [weak self] _ in _ = self?.watchers.withLock { $0.removeValue(forKey: id) } }
        watchers.withLock { $0[id] = continuation }
        return stream
    }

    public func remove(_ id: String) {
        _ = ids.withLock { $0.remove(id) }
    }

    public var count: Int { ids.withLock { $0.count } }
}
