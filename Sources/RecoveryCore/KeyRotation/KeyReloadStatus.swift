import Foundation
import GRDB
import Logging
import Synchronization

/// The server's key reload as it stands: whether the last one failed and
/// why, and what was last reported in `server_key_ring`, so the report is
/// written at once when something changes and otherwise only as a
/// heartbeat. `/api/v1/ready` and `/metrics` read it.
public final class KeyReloadStatus: Sendable {
    struct State {
        var failure: String?
        var failedAt: String?
        var reported: ServerKeyRing?
        var reportedAt: Date?
    }

    private let state = Mutex(State())
    /// Where a failed reload's reason (the key file and what is wrong with it) is told, once per new reason.
    let logger = Logger(label: "recovery-server.keys")
    private let startedAt = Timestamp.now()

    public init() {}

    /// Why the last reload failed, nil when it worked (or none ran yet).
    public var failure: String? { state.withLock { $0.failure } }

    /// Records a reload's outcome with the ring now held; answers the report
    /// to write when it differs from the last one written or the heartbeat
    /// is due, else nil.
    func record(ring: KeyRing, failure: String?, now: Date = Date()) -> ServerKeyRing? {
        state.withLock { state in
            if let failure {
                if state.failure != failure { state.failedAt = Timestamp.now() }
                state.failure = failure
            } else {
                state.failure = nil
                state.failedAt = nil
            }
            var report = ServerKeyRing(processID: Int64(getpid()), currentVersion: ring.currentVersion, retiringVersion: ring.retiringVersion,
                                       reloadFailure: state.failure, reloadFailedAt: state.failedAt, startedAt: startedAt,
                                       heartbeatAt: state.reported?.heartbeatAt ?? "")
            if report == state.reported, let at = state.reportedAt, now.timeIntervalSince(at) < ServerKeyRing.heartbeatInterval {
                return nil
            }
            report.heartbeatAt = Timestamp.string(now)
            state.reported = report
            state.reportedAt = now
            return report
        }
    }

    /// Forgets the last report when writing it failed, so the next reload writes it again.
    func reportFailed() {
        state.withLock { $0.reported = nil }
    }
}

extension Appliance {
    /// The server's once-a-second key reload: notices a rotation
    /// (`reloadKeysIfChanged`) and reports the versions it holds, or why it
    /// could not load them, in `server_key_ring` (at once on a change, else
    /// every few seconds as a heartbeat). A failed reload is rethrown, for
    /// the log, after it is reported.
    public func reloadKeysAndReport() async throws {
        var failure: (any Error)?
        do { try await reloadKeysIfChanged() } catch { failure = error }
        let reason = failure.map(Self.reloadFailureReason)
        if let reason, reason != keyReload.failure {
            keyReload.logger.error("master key version could not be loaded", metadata: ["reason": .string(reason)])
        }
        if let report = keyReload.record(ring: keyRing, failure: reason) {
            do {
                try await database.pool.write { db in try report.save(db) }
            } catch {
                keyReload.reportFailed()
                throw failure ?? error
            }
        }
        if let failure { throw failure }
    }

    /// Removes this server's report when it stops, so `keys rotate` knows at
    /// once that no server is running (rather than after the heartbeat ages).
    public func withdrawKeyReport() async throws {
        try await database.pool.write { db in try ServerKeyRing.withdraw(in: db) }
    }

    /// A sentence for a failed reload: the key file and what is wrong with
    /// it (these errors name paths and versions, never key material).
    static func reloadFailureReason(_ error: any Error) -> String {
        switch error {
        case let error as ApplianceError: return error.description
        case let error as CryptoError: return error.description
        default: return "the key ring could not be reloaded (\(type(of: error)))"
        }
    }
}
