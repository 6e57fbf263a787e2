import CSodium
import Foundation
import GRDB

/// Master-key rotation (`recovery-server keys rotate`), run while the server
/// serves, from another process on the same database (WAL).
///
/// 1. Start: a new key file `<key_file>.vN` is written durably (temporary
///    file, fsync, rename, fsync of the folder) before anything is encrypted
///    under it; then one transaction lists version N as current and the old
///    one as retiring, keeps the old version's sub-keys that must outlive it
///    sealed under N (`RetainedSubkeys`: audit chain and head keys, the
///    append-only audit column's key, secret blind indexes), and records the
///    rotation (`key_rotation`). The server notices within a second
///    (`Appliance.reloadKeysIfChanged`), writes new data under N and looks
///    blind indexes up by both versions' digests.
/// 2. First pass: every step of the registry (`RotationStep.all`): each
///    table's encrypted columns re-encrypted and blind indexes rebuilt in batches
///    of `batchSize` rows, each batch in the same transaction as the cursor
///    advance, so a kill loses at most the batch in flight; then the signing
///    key's seal and the documents' files (new file, then the row, then the
///    old file removed).
/// 3. Final sweep: `RotationGuard` triggers refuse writes under the old
///    version from here on (and keep doing so); the same pass again catches
///    what a server wrote under it before it reloaded.
/// 4. Finish: the old version is retired in one transaction with the check
///    that nothing is left under it; its key file may then be destroyed.
///
/// Running it again on a box mid-rotation resumes from the cursor. The audit
/// chain goes on under N (each entry names its key version); old entries
/// verify with the retained audit key. Live sessions survive: access tokens
/// of the old version are accepted until the end, refresh tokens are found
/// through their retained index key.
public struct KeyRotation: Sendable {
    public let appliance: Appliance
    public let batchSize: Int
    /// How long to wait for a running server to hold the new key version
    /// (before the first batch, and before the old version is retired).
    public let serverWait: Duration

    public init(appliance: Appliance, batchSize: Int = 200, serverWait: Duration = .seconds(60)) {
        self.appliance = appliance
        self.batchSize = max(1, batchSize)
        self.serverWait = serverWait
    }

    var pool: DatabasePool { appliance.database.pool }

    /// One progress report: after each batch.
    public struct Progress: Sendable {
        public var state: KeyRotationState
        public var step: String
        public var resumed: Bool
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unreadable(place: String, rowID: String)
        case leftUnderOldKey(place: String, count: Int)
        case concurrentStart
        case alreadyRunning(lockFile: String)
        case serverWithoutNewKey(version: UInt32, holds: UInt32, reloadFailure: String?, waitedSeconds: Int, beforeRetiring: Bool)

        public var description: String {
            switch self {
            case .serverWithoutNewKey(let version, let holds, let reloadFailure, let waited, let beforeRetiring):
                return "the server running on this data directory has not loaded master key version \(version) after \(waited) s "
                    + "(it holds version \(holds)" + (reloadFailure.map { "; its last key reload failed: \($0)" } ?? "") + "). "
                    + (beforeRetiring ? "Version \(version - 1) was not retired. " : "Nothing was encrypted under version \(version) yet. ")
                    + "Make the new key file readable by the server's user (mode 0600, beside the server's key_file), "
                    + "check /api/v1/ready, then run `keys rotate` again: it resumes here"
            case .alreadyRunning(let lockFile):
                return "another `keys rotate` is running on this box (it holds \(lockFile)); wait for it to finish"
            case .unreadable(let place, let rowID):
                return "\(place) of row \(rowID) cannot be decrypted with the keys at hand; nothing was changed for it"
            case .leftUnderOldKey(let place, let count):
                return "\(count) values of \(place) are still under the old key; run `keys rotate` again"
            case .concurrentStart:
                return "another key rotation started at the same time; run `keys rotate` again to resume it"
            }
        }
    }

    // MARK: Running

    /// Starts a rotation, or resumes the one in progress, and runs it to the
    /// end. Returns the final state.
    /// `waiting` hears when the run waits for the server to load the new key.
    @discardableResult
    public func run(progress: (Progress) -> Void = { _ in }, waiting: (String) -> Void = { _ in }) async throws -> KeyRotationState {
        let lock = try Self.lockRuns(keyFile: appliance.settings.resolvedKeyFile)
        defer { close(lock) }
        var resumed = true
        var state: KeyRotationState
        if let existing = try await pool.read({ db in try KeyRotationState.current(in: db) }), existing.phase != .finished {
            state = existing
        } else {
            state = try await start()
            resumed = false
        }
        try await appliance.reloadKeysIfChanged()
        if state.phase != .finished { try await waitForServer(toHold: state.toVersion, beforeRetiring: false, waiting: waiting) }
        while state.phase != .finished {
            if state.phase == .finalSweep, state.entry >= RotationStep.all.count {
                try await waitForServer(toHold: state.toVersion, beforeRetiring: true, waiting: waiting)
            }
            state = try await step(state)
            let name = state.phase == .finished ? "old version retired"
                : state.entry < RotationStep.all.count ? RotationStep.all[state.entry].name : "finishing the pass"
            progress(Progress(state: state, step: name, resumed: resumed))
        }
        try await appliance.reloadKeysIfChanged()
        return state
    }

    /// Waits until a server running on this database (a fresh heartbeat in
    /// `server_key_ring`) holds `version` as its current key, for at most
    /// `serverWait`; throws, leaving the rotation to resume, when it does
    /// not. Without a running server there is nothing to wait for: a server
    /// started later loads every listed version or refuses to start.
    func waitForServer(toHold version: UInt32, beforeRetiring: Bool, waiting: (String) -> Void) async throws {
        let clock = ContinuousClock(), began = clock.now
        var told = false
        while true {
            guard let server = try await pool.read({ db in try ServerKeyRing.read(in: db) }), server.isRunning(),
                  server.currentVersion != version else { return }
            if !told {
                waiting("waiting up to \(serverWait.components.seconds) s for the running server (process \(server.processID)) "
                        + "to load master key version \(version)")
                told = true
            }
            if clock.now - began >= serverWait {
                throw Failure.serverWithoutNewKey(version: version, holds: server.currentVersion, reloadFailure: server.reloadFailure,
                                                  waitedSeconds: Int((clock.now - began).components.seconds), beforeRetiring: beforeRetiring)
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Takes the box's rotation lock (`<key file>.rotation-lock`, flock) for one
    /// run, so two runs never overlap: a second start would replace the first's
    /// new key file after data was encrypted under it. Answers the descriptor to close.
    /// A server's look at the lock (`isRunning`) holds it for an instant, so
    /// a run that finds it taken tries again briefly before giving up.
    static func lockRuns(keyFile: String) throws -> Int32 {
        let path = lockFile(keyFile)
        let descriptor = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        for attempt in 1...3 {
            if takeLock(descriptor) { return descriptor }
            if attempt < 3 { usleep(50_000) }
        }
        close(descriptor)
        throw Failure.alreadyRunning(lockFile: path)
    }

    /// Whether a `keys rotate` run holds the box's rotation lock now: the
    /// lock is tried as a run takes it and let go at once. A lock file that
    /// is not there, or cannot be opened, shows no run.
    public static func isRunning(keyFile: String) -> Bool {
        let descriptor = open(lockFile(keyFile), O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return !takeLock(descriptor)
    }

    static func lockFile(_ keyFile: String) -> String { keyFile + ".rotation-lock" }

    /// The run's lock on an open lock file, without waiting: false when another process holds it.
    private static func takeLock(_ descriptor: Int32) -> Bool {
        flock(descriptor, LOCK_EX | LOCK_NB) == 0
    }

    /// Makes and lists the next key version (step 1).
    func start() async throws -> KeyRotationState {
        let ring = appliance.keyRing
        let from = ring.currentVersion, to = from + 1
        let base = appliance.settings.resolvedKeyFile
        // A file for `to` left by a start that did not commit is replaced: nothing is encrypted under it.
        let newKey = try MasterKey.createDurably(at: KeyRing.keyFile(base, version: to), ownerOf: KeyRing.keyFile(base, version: from))
        let next = KeyRing(currentVersion: to, masterKeys: [from: ring.current, to: newKey], retiringVersion: from, retained: ring.retained)
        let cipher = FieldCipher(ring: next)
        let audit = AuditLog(ring: next, cipher: cipher, anchor: appliance.auditAnchor)
        return try await pool.write { db in
            guard try KeyRing.listing(in: db)?.current == from else { throw Failure.concurrentStart }
            try db.execute(sql: "UPDATE master_key_versions SET state = 'retiring' WHERE version = ?", arguments: [Int64(from)])
            try db.execute(sql: "INSERT INTO master_key_versions (version, key_check, state) VALUES (?, ?, 'current')",
                           arguments: [Int64(to), KeyCheck.value(for: newKey)])
            try RetainedSubkeys.store(from: ring.current, version: from, cipher: cipher, in: db)
            let state = KeyRotationState(from: from, to: to)
            try state.save(db)
            try audit.append(AuditEvent(action: "key.rotation_started", outcome: .success, actorKind: .system, resourceType: "master_key",
                                        details: ["from_version": String(from), "to_version": String(to)]), in: db)
            return state
        }
    }

    /// One batch of the current step, or the move to the next phase.
    func step(_ state: KeyRotationState) async throws -> KeyRotationState {
        guard state.entry < RotationStep.all.count else { return try await advancePhase(state) }
        switch RotationStep.all[state.entry] {
        case .table(let table): return try await tableBatch(table, state)
        case .signingKey: return try await resealSigningKey(state)
        case .documents: return try await documentStep(state)
        }
    }

    /// Re-encrypts the next `batchSize` rows of `table` (every value not yet
    /// under the new version) and rebuilds their blind indexes, with the
    /// cursor, in one transaction.
    func tableBatch(_ table: String, _ state: KeyRotationState) async throws -> KeyRotationState {
        let ring = appliance.keyRing
        precondition(ring.currentVersion == state.toVersion, "the appliance must hold the new key")
        let cipher = appliance.cipher, index = appliance.blindIndex
        let fields = RotationStep.fields(of: table)
        let limit = batchSize
        return try await pool.write { db in
            var state = state
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, \(fields.map(\.column).joined(separator: ", ")) FROM \(table) WHERE id > ? ORDER BY id LIMIT ?
                """, arguments: [state.afterID, limit])
            for row in rows {
                let id: String = row["id"]
                var columns: [String] = [], values: [(any DatabaseValueConvertible)?] = []
                for field in fields {
                    guard let blob: Data = row[field.column], FieldCipher.keyVersion(of: blob) != state.toVersion else { continue }
                    let plain: Data
                    do { plain = try cipher.open(blob, field: field, rowID: id) } catch {
                        throw Failure.unreadable(place: "\(table).\(field.column)", rowID: id)
                    }
                    columns.append(field.column)
                    values.append(cipher.seal(plain, field: field, rowID: id))
                    for derived in field.derivedIndexes {
                        let value = String(decoding: plain, as: UTF8.self)
                        columns.append(derived.column)
                        values.append(derived.indexesSecret ? index.secretIndex(value, for: derived) : index.index(value, for: derived))
                    }
                }
                guard !columns.isEmpty else { continue }
                try db.execute(sql: "UPDATE \(table) SET \(columns.map { "\($0) = ?" }.joined(separator: ", ")) WHERE id = ?",
                               arguments: StatementArguments(values + [id]))
                state.rowsReencrypted += 1
            }
            if rows.count < limit {
                state.entry += 1
                state.afterID = ""
            } else {
                state.afterID = rows.last!["id"]
            }
            state.batches += 1
            try state.update(db)
            return state
        }
    }

    /// Re-seals the federation signing key (one row at most).
    func resealSigningKey(_ state: KeyRotationState) async throws -> KeyRotationState {
        let seal = SigningKeySeal(ring: appliance.keyRing)
        return try await pool.write { db in
            var state = state
            if try db.tableExists("federation_identity") {
                for row in try Row.fetchAll(db, sql: "SELECT id, secret_key_sealed FROM federation_identity") {
                    let id: String = row["id"]
                    let key: SigningKey
                    do { key = try seal.open(row["secret_key_sealed"], rowID: id) } catch {
                        throw Failure.unreadable(place: "federation_identity.secret_key_sealed", rowID: id)
                    }
                    try db.execute(sql: "UPDATE federation_identity SET secret_key_sealed = ? WHERE id = ?",
                                   arguments: [seal.seal(key, rowID: id), id])
                }
            }
            state.entry += 1
            state.afterID = ""
            state.batches += 1
            try state.update(db)
            return state
        }
    }

    /// Moves from the first pass to the final sweep, or ends the rotation.
    func advancePhase(_ state: KeyRotationState) async throws -> KeyRotationState {
        let audit = appliance.audit
        return try await pool.write { db in
            var state = state
            switch state.phase {
            case .firstPass:
                try RotationGuard.install(refusingBelow: state.toVersion, in: db)
                state.phase = .finalSweep
            case .finalSweep:
                try Self.requireNothingLeft(under: state.fromVersion, in: db)
                try db.execute(sql: "UPDATE master_key_versions SET state = 'retired', retired_at = ? WHERE version = ?",
                               arguments: [Timestamp.now(), Int64(state.fromVersion)])
                state.phase = .finished
                state.finishedAt = Timestamp.now()
                try audit.append(AuditEvent(action: "key.rotation_finished", outcome: .success, actorKind: .system, resourceType: "master_key",
                                            details: ["retired_version": String(state.fromVersion), "current_version": String(state.toVersion),
                                                      "rows": String(state.rowsReencrypted), "documents": String(state.documentsReencrypted)]), in: db)
            case .finished:
                break
            }
            state.entry = 0
            state.afterID = ""
            try state.update(db)
            return state
        }
    }

    /// Refuses to retire a version that still encrypts anything: a column
    /// value, a document, or the federation signing key's seal.
    static func requireNothingLeft(under version: UInt32, in db: Database) throws {
        let bytes = String(format: "X'%08x'", version)
        for field in RotationStep.rotatedFields {
            let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM \(field.table) WHERE substr(\(field.column), 2, 4) = \(bytes)") ?? 0
            if count > 0 { throw Failure.leftUnderOldKey(place: "\(field.table).\(field.column)", count: count) }
        }
        let documents = try Int.fetchOne(db, sql: "SELECT count(*) FROM documents WHERE key_version = ?", arguments: [Int64(version)]) ?? 0
        if documents > 0 { throw Failure.leftUnderOldKey(place: "documents", count: documents) }
        let seals = try Int.fetchOne(db, sql: """
            SELECT count(*) FROM federation_identity
            WHERE NOT coalesce(\(RotationGuard.signingKeySealed(atLeast: version + 1, of: "secret_key_sealed")), 0)
            """) ?? 0
        if seals > 0 { throw Failure.leftUnderOldKey(place: "federation_identity.secret_key_sealed", count: seals) }
    }
}
