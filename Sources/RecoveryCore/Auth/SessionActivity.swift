import Foundation
import Synchronization

/// When each session last made a request, kept in memory so that every
/// authenticated request counts as activity without a database write. The
/// idle limit (HIPAA automatic logoff) is checked against it on each request
/// and at refresh; `AuthService.saveSessionActivity` writes it to `sessions`
/// once a minute. A session this process has not seen yet counts from when
/// its access token was issued (its sign-in or last refresh).
public final class SessionActivity: Sendable {
    struct Entry {
        var kind: Identity.Kind
        var lastSeen: Date
        var saved: Bool
    }

    /// A session's latest request not yet written to `sessions`.
    public struct Unsaved: Sendable {
        public var sessionID: String
        public var kind: Identity.Kind
        public var lastSeen: Date
    }

    private let entries = Mutex<[String: Entry]>([:])
    let staffIdle: TimeInterval
    let patientIdle: TimeInterval

    public init(settings: Settings) {
        staffIdle = TimeInterval(settings.staffIdleTimeoutMinutes * 60)
        patientIdle = TimeInterval(settings.patientIdleTimeoutMinutes * 60)
    }

    func idleLimit(_ kind: Identity.Kind) -> TimeInterval { kind == .staff ? staffIdle : patientIdle }

    /// Records a request of `identity`'s session at `now`; false when the
    /// session had already been idle longer than its limit (it has ended).
    public func record(_ identity: Identity, at now: Date) -> Bool {
        let limit = idleLimit(identity.kind)
        return entries.withLock { entries in
            let last = entries[identity.sessionID]?.lastSeen ?? identity.issuedAt ?? now
            if now.timeIntervalSince(last) > limit {
                entries[identity.sessionID] = nil
                return false
            }
            if now > last || entries[identity.sessionID] == nil {
                entries[identity.sessionID] = Entry(kind: identity.kind, lastSeen: max(now, last), saved: false)
            }
            return true
        }
    }

    /// Whether `identity`'s session has been idle past its limit at `now`,
    /// without counting this as activity (an open socket is not use).
    public func isIdle(_ identity: Identity, at now: Date) -> Bool {
        let last = entries.withLock { $0[identity.sessionID]?.lastSeen } ?? identity.issuedAt ?? now
        return now.timeIntervalSince(last) > idleLimit(identity.kind)
    }

    /// Records activity the session showed outside a request (a refresh).
    public func record(_ sessionID: String, kind: Identity.Kind, at now: Date) {
        entries.withLock { entries in
            if let last = entries[sessionID]?.lastSeen, last >= now { return }
            entries[sessionID] = Entry(kind: kind, lastSeen: now, saved: false)
        }
    }

    /// The session's latest request seen by this process.
    public func lastSeen(_ sessionID: String) -> Date? {
        entries.withLock { $0[sessionID]?.lastSeen }
    }

    /// Activity not yet written, marked as written; sessions idle past their
    /// limit are forgotten (a later request counts from its token again).
    public func takeUnsaved(now: Date = Date()) -> [Unsaved] {
        entries.withLock { entries in
            var unsaved: [Unsaved] = []
            for (id, entry) in entries {
                if now.timeIntervalSince(entry.lastSeen) > idleLimit(entry.kind) {
                    entries[id] = nil
                } else if !entry.saved {
                    unsaved.append(Unsaved(sessionID: id, kind: entry.kind, lastSeen: entry.lastSeen))
                    entries[id]?.saved = true
                }
            }
            return unsaved
        }
    }
}
