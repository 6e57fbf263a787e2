import CSodium
import Foundation
import GRDB

/// The append-only, tamper-evident audit trail. Each entry's hash is a keyed
/// BLAKE2b (audit sub-key of the master key) over the previous entry's hash
/// and every stored column, so altering, removing or inserting a row breaks
/// the chain at that point, and forging a consistent chain needs the key.
/// The database itself refuses UPDATE and DELETE and any insert that does
/// not continue the chain (see 0001_initial_schema.sql).
///
/// Entries are written in the same transaction as the change they record,
/// so a committed change always has its entry.
public struct AuditLog: Sendable {
    static let zeroHash = Data(repeating: 0, count: 32)
    /// The chain key of each master-key version at hand; new entries use
    /// `keyVersion`'s and record it, so entries of retired versions still
    /// verify with their retained keys (`RetainedSubkeys`).
    private let chainKeys: [UInt32: [UInt8]]
    let keyVersion: UInt32
    private var chainKey: [UInt8] { chainKeys[keyVersion]! }
    private let cipher: FieldCipher
    /// The head file that follows the chain's newest entry (nil: none kept).
    let anchor: AuditAnchor?

    public init(masterKey: MasterKey, cipher: FieldCipher, anchor: AuditAnchor? = nil) {
        self.init(ring: KeyRing(single: masterKey), cipher: cipher, anchor: anchor)
    }

    public init(ring: KeyRing, cipher: FieldCipher, anchor: AuditAnchor? = nil) {
        var keys: [UInt32: [UInt8]] = [:]
        for (version, key) in ring.subkeys(.auditChain, id: 1) { keys[version] = key }
        self.chainKeys = keys
        self.keyVersion = ring.currentVersion
        self.cipher = cipher
        self.anchor = anchor
    }

    public func append(_ event: AuditEvent, in db: Database) throws {
        try append([event], in: db)
    }

    /// Appends events in order, chaining each to the one before.
    public func append(_ events: [AuditEvent], in db: Database) throws {
        var previous = try Data.fetchOne(db.cachedStatement(sql: "SELECT entry_hash FROM audit_logs ORDER BY seq DESC LIMIT 1")) ?? Self.zeroHash
        for event in events { previous = try insert(event, after: previous, in: db) }
        if !events.isEmpty { anchor?.appended(in: db) }
    }

    private func insert(_ event: AuditEvent, after previous: Data, in db: Database) throws -> Data {
        let id = RowID.make()
        // A list of patients is stored once and named by its digest; an
        // empty list is kept in the entry itself.
        var patientIDs = event.patientIDs.map(Self.jsonArray)
        var patientSet: Data?
        if let ids = event.patientIDs, !ids.isEmpty, let text = patientIDs {
            patientSet = try AuditPatientIndex.store(ids, text: text, in: db)
            patientIDs = nil
        }
        let row = StoredEntry(
            id: id, occurredAt: Timestamp.now(), facilityID: event.facilityID, actorKind: event.actorKind.rawValue,
            actorID: event.actorID, action: event.action, resourceType: event.resourceType, resourceID: event.resourceID,
            patientID: event.patientID, patientIDs: patientIDs, outcome: event.outcome.rawValue,
            ipAddressEnc: event.ipAddress.map { cipher.seal($0, field: .auditLogsIpAddress, rowID: id) },
            requestID: event.requestID, details: Self.jsonObject(event.details), patientSet: patientSet)
        let entryHash = hash(row, previous: previous, key: chainKey)
        var arguments: StatementArguments = [row.id, row.occurredAt, row.facilityID, row.actorKind, row.actorID, row.action, row.resourceType,
                                             row.resourceID, row.patientID, row.patientIDs, row.outcome, row.ipAddressEnc, row.requestID,
                                             row.details, row.patientSet, previous, entryHash]
        // Version 1 is the column's default, so a database not yet migrated to 0019 takes the same insert.
        if keyVersion != 1 { arguments += [Int64(keyVersion)] }
        try db.cachedStatement(sql: keyVersion == 1 ? """
            INSERT INTO audit_logs (id, occurred_at, facility_id, actor_kind, actor_id, action, resource_type, resource_id,
                                    patient_id, patient_ids, outcome, ip_address_enc, request_id, details, patient_set,
                                    prev_hash, entry_hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """ : """
            INSERT INTO audit_logs (id, occurred_at, facility_id, actor_kind, actor_id, action, resource_type, resource_id,
                                    patient_id, patient_ids, outcome, ip_address_enc, request_id, details, patient_set,
                                    prev_hash, entry_hash, key_version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: arguments)
        return entryHash
    }

    public enum Verification: Equatable, Sendable {
        case intact(entries: Int)
        case broken(seq: Int64, reason: String)
        /// The head file (`AuditAnchor`) is missing or not to be trusted.
        case headFile(reason: String)
    }

    /// Walks the whole chain and reports the first entry that does not fit;
    /// then checks that the chain still reaches `head` (the head file's
    /// entry; the chain may go on past it) and that the index of entries by
    /// patient holds exactly the patients the entries name.
    public func verify(in db: Database, head: AuditAnchor.Head? = nil) throws -> Verification {
        var previous = Self.zeroHash
        var count = 0
        var lastSeq: Int64 = 0
        var hashAtHead: Data?
        var intactSets = Set<Data>()
        // A database not yet migrated to 0004 (checked before an upgrade) has no lists.
        let cursor = try Row.fetchCursor(db, sql: try db.tableExists("audit_patient_sets")
            ? """
              SELECT a.*, s.patient_ids AS set_patient_ids
              FROM audit_logs a LEFT JOIN audit_patient_sets s ON s.digest = a.patient_set ORDER BY a.seq
              """
            : "SELECT * FROM audit_logs ORDER BY seq")
        while let row = try cursor.next() {
            let seq: Int64 = row["seq"]
            let stored = StoredEntry(row: row)
            let prevHash: Data = row["prev_hash"]
            let entryHash: Data = row["entry_hash"]
            if prevHash != previous {
                return .broken(seq: seq, reason: "does not follow the entry before it (an entry was removed, inserted or altered)")
            }
            // Entries from before key versions (0019) were all hashed with version 1's key.
            let version: UInt32 = row.hasColumn("key_version") ? row["key_version"] : 1
            guard let key = chainKeys[version] else {
                return .broken(seq: seq, reason: "it was hashed with master key version \(version), whose audit key is not at hand")
            }
            if !ConstantTime.equals(entryHash, hash(stored, previous: prevHash, key: key)) {
                return .broken(seq: seq, reason: "its content does not match its hash (the entry was altered)")
            }
            if count > 0, seq != lastSeq + 1 {
                // Numbers are never reused, so a gap is entries removed (and the chain written on after them).
                return .broken(seq: seq, reason: "follows entry \(lastSeq): entries \(lastSeq + 1) to \(seq - 1) were removed")
            }
            if seq == head?.seq { hashAtHead = entryHash }
            if let digest = stored.patientSet, !intactSets.contains(digest) {
                // The entry's hash covers the digest; the stored list must still
                // have it, and its index exactly its patients (else access
                // history would miss or invent readers).
                guard let list: String = row["set_patient_ids"], AuditPatientIndex.digest(list) == digest else {
                    return .broken(seq: seq, reason: "the list of patients it names was altered or removed")
                }
                guard try AuditPatientIndex.membersMatch(digest, list: list, in: db) else {
                    return .broken(seq: seq, reason: "the index of the patients it names was altered")
                }
                intactSets.insert(digest)
            }
            previous = entryHash
            lastSeq = seq
            count += 1
        }
        if let head, head.seq > 0 {
            if lastSeq < head.seq {
                return .broken(seq: head.seq, reason: count == 0
                    ? "is missing: the trail is empty, but \(AuditAnchor.fileName) records entries up to \(head.seq) (every entry was removed)"
                    : "is missing: the trail ends at entry \(lastSeq), but \(AuditAnchor.fileName) records entries up to \(head.seq) (the newest entries were removed)")
            }
            guard let hashAtHead, ConstantTime.equals(hashAtHead, head.hash) else {
                return .broken(seq: head.seq, reason: "is not the entry \(AuditAnchor.fileName) records (the trail was cut back and written on, or replaced)")
            }
        }
        if let problem = try AuditPatientIndex.singlePatientMismatch(in: db) {
            return .broken(seq: problem.seq, reason: problem.reason)
        }
        return .intact(entries: count)
    }

    /// Keyed BLAKE2b-256 over `previous` and each field as 0 (absent) or
    /// 1, its length (UInt32 big-endian) and its bytes, fed to the hash in
    /// pieces rather than copied into one message first.
    func hash(_ entry: StoredEntry, previous: Data) -> Data {
        hash(entry, previous: previous, key: chainKey)
    }

    func hash(_ entry: StoredEntry, previous: Data, key chainKey: [UInt8]) -> Data {
        let state = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        defer { state.deallocate() }
        let hashState = OpaquePointer(state)
        crypto_generichash_init(hashState, chainKey, chainKey.count, 32)
        func feed(_ bytes: UnsafeRawBufferPointer) {
            crypto_generichash_update(hashState, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
        }
        previous.withUnsafeBytes(feed)
        entry.forEachHashedField { field in
            guard let field else { return withUnsafeBytes(of: UInt8(0), feed) }
            withUnsafeBytes(of: UInt8(1), feed)
            withUnsafeBytes(of: UInt32(field.count).bigEndian, feed)
            feed(field)
        }
        var out = Data(count: 32)
        out.withUnsafeMutableBytes { raw in _ = crypto_generichash_final(hashState, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), 32) }
        return out
    }

    /// JSON for ids and codes (no escaping needed beyond quotes and backslashes).
    static func jsonArray(_ values: [String]) -> String {
        if values.allSatisfy(isPlain) { return values.isEmpty ? "[]" : "[\"" + values.joined(separator: "\",\"") + "\"]" }
        return "[" + values.map(quoted).joined(separator: ",") + "]"
    }

    static func jsonObject(_ values: [String: String]) -> String {
        "{" + values.sorted { $0.key < $1.key }.map { quoted($0.key) + ":" + quoted($0.value) }.joined(separator: ",") + "}"
    }

    static func quoted(_ text: String) -> String {
        if isPlain(text) { return "\"" + text + "\"" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Printable ASCII without quotes or backslashes: ids and codes, the
    /// usual content, which JSON takes as they are.
    static func isPlain(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in bytes.allSatisfy { $0 >= 0x20 && $0 < 0x80 && $0 != 0x22 && $0 != 0x5C } }
    }
}

/// The columns of one audit row as stored, in the order they are hashed.
struct StoredEntry {
    var id: String
    var occurredAt: String
    var facilityID: String?
    var actorKind: String
    var actorID: String?
    var action: String
    var resourceType: String?
    var resourceID: String?
    var patientID: String?
    var patientIDs: String?
    var outcome: String
    var ipAddressEnc: Data?
    var requestID: String?
    var details: String
    /// The digest of the list of patients the entry names (0004); nil in
    /// entries from before, which keep their list in `patientIDs`.
    var patientSet: Data?

    init(id: String, occurredAt: String, facilityID: String?, actorKind: String, actorID: String?, action: String,
         resourceType: String?, resourceID: String?, patientID: String?, patientIDs: String?, outcome: String,
         ipAddressEnc: Data?, requestID: String?, details: String, patientSet: Data? = nil) {
        self.id = id
        self.occurredAt = occurredAt
        self.facilityID = facilityID
        self.actorKind = actorKind
        self.actorID = actorID
        self.action = action
        self.resourceType = resourceType
        self.resourceID = resourceID
        self.patientID = patientID
        self.patientIDs = patientIDs
        self.outcome = outcome
        self.ipAddressEnc = ipAddressEnc
        self.requestID = requestID
        self.details = details
        self.patientSet = patientSet
    }

    init(row: Row) {
        self.init(id: row["id"], occurredAt: row["occurred_at"], facilityID: row["facility_id"], actorKind: row["actor_kind"],
                  actorID: row["actor_id"], action: row["action"], resourceType: row["resource_type"],
                  resourceID: row["resource_id"], patientID: row["patient_id"], patientIDs: row["patient_ids"],
                  outcome: row["outcome"], ipAddressEnc: row["ip_address_enc"], requestID: row["request_id"],
                  details: row["details"], patientSet: row["patient_set"])
    }

    /// Every stored column in hash order, as bytes (nil when absent). The
    /// patient set comes last and only when present, so entries from before
    /// it existed hash as they always did.
    func forEachHashedField(_ body: (UnsafeRawBufferPointer?) -> Void) {
        func text(_ value: String?) {
            guard var value else { return body(nil) }
            value.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        }
        for value in [id, occurredAt, facilityID, actorKind, actorID, action, resourceType, resourceID, patientID, patientIDs, outcome] {
            text(value)
        }
        if let ipAddressEnc { ipAddressEnc.withUnsafeBytes { body($0) } } else { body(nil) }
        text(requestID)
        text(details)
        patientSet?.withUnsafeBytes { body($0) }
    }
}
