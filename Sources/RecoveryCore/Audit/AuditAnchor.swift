import CSodium
import Foundation
import GRDB
import Logging
import Synchronization

/// The audit chain's head kept outside the database: `<data dir>/audit.head`
/// holds the sequence number and hash of the newest entry, sealed with a key
/// derived from the master key. The chain inside the table shows entries
/// altered, inserted or removed in the middle; only a record outside it shows
/// that the newest entries (or all of them) were removed.
///
/// The file is rewritten after each commit that wrote audit entries, off the
/// writer's queue (a temporary file, fsync, rename), so commits never wait
/// for it and a burst of commits shares one rewrite. It may therefore lag
/// the table by the last commits (and after a crash by whatever was not yet
/// rewritten): a table ahead of the file by entries that chain from it is
/// fine; a table that no longer holds the entry the file names is not.
public final class AuditAnchor: Sendable {
    /// The position of one entry in the chain; seq 0 with 32 zero bytes is
    /// the empty chain.
    public struct Head: Equatable, Sendable {
        public var seq: Int64
        public var hash: Data

        public static let empty = Head(seq: 0, hash: AuditLog.zeroHash)
    }

    /// What the file holds, as read.
    public enum Stored: Equatable, Sendable {
        case missing
        /// Unreadable, damaged, altered, or sealed with another key.
        case invalid
        case head(Head)
    }

    public static let fileName = "audit.head"
    static let format = "recovery-audit-head 1"

    public let path: String
    /// The head keys at hand, the current version's first: it seals; all
    /// are tried when reading (a file written before a key rotation).
    private let keys: Mutex<[[UInt8]]>
    private let logger = Logger(label: "recovery-server.audit")
    private let queue = DispatchQueue(label: "recovery.audit-anchor")
    private let state: Mutex<State>

    private struct State {
        /// The newest head this process saw committed.
        var head: Head
        /// The head last written to the file.
        var written: Head?
        /// A rewrite is queued and has not yet taken `head`.
        var rewriteQueued = false
        /// A write transaction appended entries and its commit is awaited.
        var transactionOpen = false
        /// Why the file no longer follows the table (kept as evidence).
        var halted: String?
    }

    init(path: String, ring: KeyRing, head: Head) {
        self.path = path
        self.keys = Mutex(ring.subkeys(.auditHead, id: 1).map(\.key))
        self.state = Mutex(State(head: head, written: head))
    }

    convenience init(path: String, masterKey: MasterKey, head: Head) {
        self.init(path: path, ring: KeyRing(single: masterKey), head: head)
    }

    /// After the key ring changed: seal with its current version from now
    /// on (the next rewrite), still reading what older versions sealed.
    func use(_ ring: KeyRing) {
        keys.withLock { $0 = ring.subkeys(.auditHead, id: 1).map(\.key) }
        let head = state.withLock { state -> Head? in
            state.written = nil
            return state.halted == nil ? state.head : nil
        }
        if let head { try? save(head) }
    }

    // MARK: Following the table

    /// Called by `AuditLog` for each append: once per write transaction it
    /// arranges that the file follows the table's new head after the commit.
    func appended(in db: Database) {
        let first = state.withLock { state -> Bool in
            guard state.halted == nil, !state.transactionOpen else { return false }
            state.transactionOpen = true
            return true
        }
        guard first else { return }
        db.afterNextTransaction(onCommit: { [self] db in committed(in: db) },
                                onRollback: { [self] _ in state.withLock { $0.transactionOpen = false } })
    }

    /// After a commit: the entry the file names must still be in the table
    /// (else the table was cut back or replaced behind the server's back, and
    /// the file keeps naming what was there); then the file moves to the new head.
    private func committed(in db: Database) {
        let previous = state.withLock { state -> Head in
            state.transactionOpen = false
            return state.head
        }
        var problem: String?
        var newHead: Head?
        do {
            if try Self.holds(previous, in: db) {
                newHead = try Self.tableHead(in: db)
            } else {
                problem = "the audit trail no longer holds entry \(previous.seq) that \(Self.fileName) names"
            }
        } catch {
            // A failed read leaves the file where it is; the next commit moves it on.
        }
        let queueRewrite = state.withLock { state -> Bool in
            if let problem, state.halted == nil {
                state.halted = problem
            }
            guard state.halted == nil, let newHead, newHead.seq > state.head.seq else { return false }
            state.head = newHead
            guard !state.rewriteQueued else { return false }
            state.rewriteQueued = true
            return true
        }
        if let problem {
            logger.critical("audit trail altered: \(problem); \(Self.fileName) is kept as it is. Run `recovery-server audit verify`.")
        }
        if queueRewrite { queue.async { self.rewrite() } }
    }

    /// Writes the newest head unless the file already has it.
    private func rewrite() {
        let head = state.withLock { state -> Head? in
            state.rewriteQueued = false
            return state.written == state.head ? nil : state.head
        }
        guard let head else { return }
        do {
            try save(head)
            state.withLock { $0.written = head }
        } catch {
            logger.error("could not write \(Self.fileName)", metadata: ["error": .string(String(describing: error))])
        }
    }

    /// Waits until the file holds the newest committed head (at shutdown, and in tests).
    public func flush() {
        queue.sync { rewrite() }
    }

    /// Why the file stopped following the table, if it did.
    public var halted: String? { state.withLock { $0.halted } }

    // MARK: The file

    /// `recovery-audit-head 1 <seq> <hash hex> <seal hex>`: the seal is keyed
    /// BLAKE2b-256 over the text before it.
    func text(for head: Head) -> String {
        let body = "\(Self.format) \(head.seq) \(Self.hex(head.hash))"
        return body + " " + Self.hex(seal(body)) + "\n"
    }

    func seal(_ body: String) -> Data {
        seal(body, key: keys.withLock { $0[0] })
    }

    func seal(_ body: String, key: [UInt8]) -> Data {
        var body = body
        var out = Data(count: 32)
        body.withUTF8 { bytes in
            out.withUnsafeMutableBytes { raw in
                _ = crypto_generichash(raw.baseAddress!.assumingMemoryBound(to: UInt8.self), 32,
                                       bytes.baseAddress, UInt64(bytes.count), key, key.count)
            }
        }
        return out
    }

    /// Reads and checks the file.
    func read() -> Stored {
        guard FileManager.default.fileExists(atPath: path) else { return .missing }
        guard let data = FileManager.default.contents(atPath: path), data.count < 1_024,
              let text = String(data: data, encoding: .utf8), text.hasSuffix("\n") else { return .invalid }
        let parts = text.dropLast().split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0...1].joined(separator: " ") == Self.format,
              let seq = Int64(parts[2]), seq >= 0,
              let hash = Self.bytes(hex: parts[3]), hash.count == 32,
              let sealed = Self.bytes(hex: parts[4]) else { return .invalid }
        let body = parts[0...3].joined(separator: " ")
        guard keys.withLock({ $0 }).contains(where: { ConstantTime.equals(sealed, seal(body, key: $0)) }) else { return .invalid }
        return .head(Head(seq: seq, hash: hash))
    }

    /// Replaces the file atomically: a new file beside it, flushed to disk,
    /// renamed over the old one. A crash leaves the old file or the new one.
    func save(_ head: Head) throws {
        let temporary = path + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StorageError.auditHead(reason: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        let bytes = Array(text(for: head).utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        let synced = written == bytes.count && fsync(fd) == 0
        let reason = String(cString: strerror(errno))
        close(fd)
        guard synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw StorageError.auditHead(reason: "cannot write \(path): \(reason)")
        }
    }

    // MARK: The table

    /// The newest entry's position, or the empty chain's.
    static func tableHead(in db: Database) throws -> Head {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, entry_hash FROM audit_logs ORDER BY seq DESC LIMIT 1"))
        else { return .empty }
        return Head(seq: row[0], hash: row[1])
    }

    /// Whether the table still holds the entry `head` names (always, for the empty chain).
    static func holds(_ head: Head, in db: Database) throws -> Bool {
        guard head.seq > 0 else { return true }
        let hash = try Data.fetchOne(db.cachedStatement(sql: "SELECT entry_hash FROM audit_logs WHERE seq = ?"), arguments: [head.seq])
        return hash == head.hash
    }

    static func hex(_ data: Data) -> String {
        data.map { String(format: "%02x", $0) }.joined()
    }

    static func bytes(hex: Substring) -> Data? {
        guard hex.count % 2 == 0 else { return nil }
        var out = Data(capacity: hex.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            out.append(byte)
            index = next
        }
        return out
    }
}

extension AuditAnchor {
    /// Opens the head file of a data directory when the appliance starts. A
    /// missing file is written from the table's head (a database from before
    /// the file existed, or a file removed): `created` then names the entry it
    /// starts from, which the caller records in the trail and logs. A file
    /// that is not sealed with this key, or names an entry the table no longer
    /// holds, stops the start.
    static func load(dataDirectory: String, ring: KeyRing, database: AppDatabase) throws -> (AuditAnchor, created: Head?) {
        let path = dataDirectory + "/" + fileName
        let tableHead = try database.pool.read { db in try Self.tableHead(in: db) }
        let anchor = AuditAnchor(path: path, ring: ring, head: tableHead)
        switch anchor.read() {
        case .missing:
            try anchor.save(tableHead)
            return (anchor, tableHead.seq > 0 ? tableHead : nil)
        case .invalid:
            throw ApplianceError.auditHeadInvalid(path: path)
        case .head(let stored):
            guard try database.pool.read({ db in try Self.holds(stored, in: db) }) else {
                throw ApplianceError.auditTrailCutBack(path: path, seq: stored.seq, tableSeq: tableHead.seq)
            }
            // Behind the table after a crash (or another process's writes): catch up now.
            if stored != tableHead { try anchor.save(tableHead) }
            return (anchor, nil)
        }
    }

    /// Reads the head file of a data directory without changing anything (`audit verify`).
    static func stored(dataDirectory: String, masterKey: MasterKey) -> Stored {
        stored(dataDirectory: dataDirectory, ring: KeyRing(single: masterKey))
    }

    static func stored(dataDirectory: String, ring: KeyRing) -> Stored {
        AuditAnchor(path: dataDirectory + "/" + fileName, ring: ring, head: .empty).read()
    }
}
