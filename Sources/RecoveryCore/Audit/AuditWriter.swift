import Foundation
import GRDB

/// Audit entries for reads, written through the shared `GroupCommit`: a
/// request that read PHI hands its entry here and waits until the entry's
/// transaction committed, so an answered read always has a durable audit
/// entry while many requests share one fsync.
public struct AuditWriter: Sendable {
    let commits: GroupCommit
    /// The log to append with: the appliance's current one (its key version
    /// changes when a key rotation starts).
    let currentLog: @Sendable () -> AuditLog

    public init(commits: GroupCommit, log: AuditLog) {
        self.init(commits: commits, currentLog: { log })
    }

    public init(commits: GroupCommit, currentLog: @escaping @Sendable () -> AuditLog) {
        self.commits = commits
        self.currentLog = currentLog
    }

    /// Returns once `events` are committed to disk.
    public func record(_ events: [AuditEvent]) async throws {
        guard !events.isEmpty else { return }
        let log = currentLog()
        try await commits.write { db in try log.append(events, in: db) }
    }

    public func record(_ event: AuditEvent) async throws {
        try await record([event])
    }
}
