import Foundation
import GRDB

/// Brute-force limits on logins, registrations and second-factor codes, per
/// account (or, for an identifier naming none, per identifier) and per client
/// address, over a sliding window. Counts
/// live in `auth_attempts` (keyed hashes only), so they survive a restart and
/// apply alike to accounts that exist and ones that do not — a lockout does
/// not reveal whether an account exists.
public struct LoginThrottle: Sendable {
    public enum Kind: String, Sendable { case login, registration, mfa }

    let blindIndex: BlindIndex
    let accountLimit: Int
    let addressLimit: Int
    let window: TimeInterval

    public init(blindIndex: BlindIndex, settings: Settings) {
        self.blindIndex = blindIndex
        self.accountLimit = settings.accountFailureLimit
        self.addressLimit = settings.addressFailureLimit
        self.window = TimeInterval(settings.failureWindowMinutes * 60)
    }

    func subject(_ scope: String, _ value: String) -> Data {
        blindIndex.index(scope + ":" + value, for: .authAttemptsSubject)
    }

    /// The subject's digests to count attempts by: the current key version's
    /// and, during a key rotation, the retiring one's, so failures booked
    /// before the server switched keys still count.
    func subjects(_ scope: String, _ value: String) -> BlindIndex.Lookup {
        blindIndex.lookup(scope + ":" + value, for: .authAttemptsSubject)
    }

    /// Seconds to wait when the account or address is over its limit, else nil.
    public func retryAfter(_ kind: Kind, account: String?, address: String?, in db: Database) throws -> Int? {
        var waits: [Int] = []
        if let account, let wait = try wait("account", subjects("account", account), kind, limit: accountLimit, in: db) {
            waits.append(wait)
        }
        if let address, let wait = try wait("address", subjects("address", address), kind, limit: addressLimit, in: db) {
            waits.append(wait)
        }
        return waits.max()
    }

    private func wait(_ scope: String, _ subjects: BlindIndex.Lookup, _ kind: Kind, limit: Int, in db: Database) throws -> Int? {
        let now = Date()
        var since = Timestamp.string(now.addingTimeInterval(-window))
        if scope == "account", let success = try String.fetchOne(db, sql: """
            SELECT max(attempted_at) FROM auth_attempts WHERE scope = 'account' AND \(subjects.sql("subject_bidx")) AND kind = ? AND succeeded = 1
            """, arguments: subjects.arguments + ([kind.rawValue] as StatementArguments)), success > since {
            since = success
        }
        let failures = try String.fetchAll(db, sql: """
            SELECT attempted_at FROM auth_attempts
            WHERE scope = ? AND \(subjects.sql("subject_bidx")) AND kind = ? AND succeeded = 0 AND attempted_at > ?
            ORDER BY attempted_at DESC LIMIT ?
            """, arguments: ([scope] as StatementArguments) + subjects.arguments + ([kind.rawValue, since, limit] as StatementArguments))
        guard failures.count >= limit, let oldest = failures.last.flatMap(Timestamp.parse) else { return nil }
        return max(1, Int((oldest.addingTimeInterval(window).timeIntervalSince(now)).rounded(.up)))
    }

    /// Books an attempt before the (slow) password check: in one write
    /// transaction it refuses when over a limit and otherwise records the
    /// attempt as a failure. Parallel attempts are therefore counted before
    /// any of them is verified. `release` undoes the booking on success.
    public func reserve(_ kind: Kind, account: String?, address: String?, in db: Database) throws -> Reservation {
        if let wait = try retryAfter(kind, account: account, address: address, in: db) {
            throw AuthError.throttled(retryAfterSeconds: wait)
        }
        // Rows older than the window (and a day) no longer count for anything.
        try db.execute(sql: "DELETE FROM auth_attempts WHERE attempted_at < ?",
                       arguments: [Timestamp.string(Date().addingTimeInterval(-max(window, 86_400)))])
        var ids: [String] = []
        let now = Timestamp.now()
        for (scope, value) in [("account", account), ("address", address)] {
            guard let value else { continue }
            let id = RowID.make()
            try db.execute(sql: "INSERT INTO auth_attempts (id, scope, subject_bidx, kind, succeeded, attempted_at) VALUES (?, ?, ?, ?, 0, ?)",
                           arguments: [id, scope, subject(scope, value), kind.rawValue, now])
            ids.append(id)
        }
        return Reservation(kind: kind, account: account, ids: ids)
    }

    public struct Reservation: Sendable {
        let kind: Kind
        let account: String?
        let ids: [String]
    }

    /// The attempt succeeded: its booked failures are removed and the
    /// account's count starts again.
    public func release(_ reservation: Reservation, in db: Database) throws {
        for id in reservation.ids { try db.execute(sql: "DELETE FROM auth_attempts WHERE id = ?", arguments: [id]) }
        if let account = reservation.account { try recordSuccess(reservation.kind, account: account, in: db) }
    }

    /// True when the account is now over its limit (after a failure), for auditing the lockout.
    public func isLocked(_ kind: Kind, account: String, in db: Database) throws -> Bool {
        try wait("account", subjects("account", account), kind, limit: accountLimit, in: db) != nil
    }

    /// A success (or an administrator's unlock) clears the account's failures.
    public func recordSuccess(_ kind: Kind, account: String, in db: Database) throws {
        try db.execute(sql: "INSERT INTO auth_attempts (id, scope, subject_bidx, kind, succeeded, attempted_at) VALUES (?, 'account', ?, ?, 1, ?)",
                       arguments: [RowID.make(), subject("account", account), kind.rawValue, Timestamp.now()])
    }

    /// The key an account's failures are counted under: one per account,
    /// whichever identifier named it (a patient's email and patient number
    /// share it), and shared by every check of the account's password.
    public static func accountKey(_ kind: Identity.Kind, id: String) -> String { kind.rawValue + ":" + id }

    /// The key for an identifier that names no account: its normalised form
    /// (case-insensitive), so an unknown one locks exactly like a real one.
    public static func accountKey(unknown identifier: String) -> String { "identifier:" + BlindIndex.normalise(identifier) }
}
