import Synchronization

/// Staff whose password was set by an administrator (or generated at `init`)
/// and who must choose their own before anything else: until then every
/// route but the password change, sign-out and "who am I" answers 403
/// `password_change_required`. Checked on every request, so it is an
/// in-memory set of staff ids, loaded from `staff.must_change_password` at
/// start-up and kept in step with it.
public final class PendingPasswordChanges: Sendable {
    private let ids = Mutex<Set<String>>([])

    public init() {}

    public func contains(_ staffID: String) -> Bool { ids.withLock { $0.contains(staffID) } }

    public func insert<S: Sequence>(_ staffIDs: S) where S.Element == String {
        ids.withLock { $0.formUnion(staffIDs) }
    }

    public func remove(_ staffID: String) {
        _ = ids.withLock { $0.remove(staffID) }
    }
}
