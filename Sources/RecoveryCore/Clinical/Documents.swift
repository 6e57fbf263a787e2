import CSodium
import Foundation
import GRDB

/// Sub-keys of documents' files: one per file and master-key version
/// (`documents.key_version`); new files use the current version.
public struct DocumentKeys: Sendable {
    let ring: KeyRing

    init(ring: KeyRing) {
        self.ring = ring
    }

    var currentVersion: UInt32 { ring.currentVersion }

    func key(_ id: UInt64) -> [UInt8] {
        ring.current.derive(.documents, id: id, length: Int(crypto_secretstream_xchacha20poly1305_keybytes()))
    }

    func key(_ id: UInt64, version: UInt32) throws -> [UInt8] {
        guard let master = ring.masterKeys[version] else { throw CryptoError.unknownKeyVersion(version) }
        return master.derive(.documents, id: id, length: Int(crypto_secretstream_xchacha20poly1305_keybytes()))
    }
}

/// A patient's documents: encrypted files under `<data-dir>/documents/`
/// (`DocumentFile`) and their metadata in `documents` (title encrypted).
/// Staff upload and delete with `documents.manage` and read with
/// `patients.read_clinical`, reaching the patient; the patient lists and
/// downloads their own documents made visible to them. Every download is
/// audited; a staff download for a release under a consent is also recorded
/// in the accounting of disclosures.
public struct Documents: Sendable {
    public static let types = ["treatment_plan", "assessment", "consent", "lab_result", "discharge_summary", "other"]

    /// An upload in progress: its id, file and key, until `commit` or `abort`.
    public final class Upload: @unchecked Sendable {
        public let id: String
        public let facilityID: String
        public let patientID: String
        let keyID: UInt64
        /// The master-key version the file is encrypted under.
        var keyVersion: UInt32 = 1
        let storageName: String
        let finalPath: String
        public let writer: DocumentFile.Writer
        public var contentType: String?

        init(id: String, facilityID: String, patientID: String, keyID: UInt64, storageName: String, finalPath: String, writer: DocumentFile.Writer) {
            self.id = id
            self.facilityID = facilityID
            self.patientID = patientID
            self.keyID = keyID
            self.storageName = storageName
            self.finalPath = finalPath
            self.writer = writer
        }
    }

    /// A download: the metadata and the file's reader.
    public struct Download: @unchecked Sendable {
        public let contentType: String
        public let size: Int
        public let id: String
        public let reader: DocumentFile.Reader
    }

    let appliance: Appliance
    var directory: PatientDirectory { PatientDirectory(appliance: appliance) }
    var cipher: FieldCipher { appliance.cipher }
    var pool: DatabasePool { appliance.database.pool }
    /// Tests only: a disk that fills after this many bytes of a file.
    public var failWritesAfter: Int?

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    /// `<data-dir>/documents`, made (0700) when missing.
    public var folder: String { appliance.settings.dataDirectory + "/documents" }

    func ensureFolder() throws {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        if Self.firstUse(of: folder) { try? sweep(olderThan: 3_600) }
    }

    nonisolated(unsafe) static var swept: Set<String> = []
    static let sweptLock = NSLock()

    /// True the first time this process uploads into `folder`.
    static func firstUse(of folder: String) -> Bool {
        sweptLock.lock()
        defer { sweptLock.unlock() }
        return swept.insert(folder).inserted
    }

    /// Removes what a crash can leave behind: unfinished uploads (`.partial`)
    /// and files that no row names (renamed, then the transaction did not
    /// commit), both only when older than `seconds`, so an upload of another
    /// process in progress is left alone. Returns the names removed.
    @discardableResult
    public func sweep(olderThan seconds: TimeInterval) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
        let known = Set(try pool.read { db in try String.fetchAll(db, sql: "SELECT storage_name FROM documents") })
        let cutoff = Date().addingTimeInterval(-seconds)
        var removed: [String] = []
        for name in names where name.hasSuffix(".partial") || !known.contains(name) {
            let path = "\(folder)/\(name)"
            guard let modified = try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date, modified < cutoff else { continue }
            if unlink(path) == 0 { removed.append(name) }
        }
        return removed
    }

    // MARK: Upload

    /// Decides access (`documents.manage`, audited when refused) and opens the
    /// file the bytes are encrypted into, under a temporary name.
    public func begin(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws -> Upload {
        let granted = try await directory.authorize(identity, patientID, .documentsManage, action: "document.create", origin: origin)
        try ensureFolder()
        let id = RowID.make()
        let keyID = UInt64.random(in: 1...UInt64.max)
        let storageName = SecureRandom.bytes(20).map { String(format: "%02x", $0) }.joined()
        let keys = appliance.documentKeys
        let writer = try DocumentFile.Writer(path: "\(folder)/\(storageName).partial", key: keys.key(keyID), documentID: id,
                                             limit: appliance.settings.documentsMaxBytes, failWritesAfter: failWritesAfter)
        let upload = Upload(id: id, facilityID: granted.facilityID, patientID: patientID, keyID: keyID, storageName: storageName,
                            finalPath: "\(folder)/\(storageName)", writer: writer)
        upload.keyVersion = keys.currentVersion
        return upload
    }

    /// Validates the fields, finishes the file, and stores the row (the
    /// policy deciding again); on any failure the file is removed.
    public func commit(_ identity: Identity, _ upload: Upload, title: String?, type: String?, patientVisible: Bool, filename: String?,
                       origin: RequestOrigin) async throws -> JSONValue {
        do {
            var problems: [RecordProblem] = []
            CarePlan.text(title, "title", max: 200, required: true, nonEmpty: true, into: &problems)
            if let type { if !Self.types.contains(type) { problems.append(RecordProblem("type", "must be one of " + Self.types.joined(separator: ", "))) } }
            else { problems.append(RecordProblem("type", "is required")) }
            if let filename, filename.unicodeScalars.count > 255 || TextRules.hasControlCharacters(filename, allowLineBreaks: false) {
                problems.append(RecordProblem("file", "has a file name that is too long or not printable"))
            }
            if !problems.isEmpty { throw RecordFailure.invalid(problems) }
            guard let contentType = upload.contentType else { throw DocumentFailure.unsupportedType }
            let digest = try upload.writer.finish()
            let size = upload.writer.size
            let directory = self.directory
            return try await directory.writeAuthorized(identity, upload.patientID, .documentsManage, action: "document.create", origin: origin) { db, granted in
                let stamp = Timestamp.now()
                let id = upload.id
                try db.execute(sql: """
                    INSERT INTO documents (id, facility_id, patient_id, uploaded_by_kind, uploaded_by, title_enc, filename_enc, content_type, size_bytes,
                        sha256, storage_name, key_version, category, patient_visible, key_id, created_at, updated_at)
                    VALUES (?, ?, ?, 'staff', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, granted.facilityID, upload.patientID, identity.subjectID, cipher.seal(title!, field: .documentsTitle, rowID: id),
                                     cipher.seal(optional: filename, field: .documentsFilename, rowID: id), contentType, size, Data(digest),
                                     upload.storageName, Int64(upload.keyVersion), type, patientVisible, Int64(bitPattern: upload.keyID), stamp, stamp])
                try appliance.audit.append(directory.successEvent("document.create", identity, granted, origin, details: ["record": id]), in: db)
                // The file takes its name inside the transaction: a failed commit removes it (below).
                guard rename(upload.writer.path, upload.finalPath) == 0 else { throw DocumentFailure.diskFull }
                return try Self.metadata(id, cipher: cipher, in: db)!
            }
        } catch {
            abort(upload)
            throw error
        }
    }

    /// Removes an upload's file, whatever its name by now.
    public func abort(_ upload: Upload) {
        upload.writer.discard()
        if let exists = try? pool.read({ db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM documents WHERE id = ?)", arguments: [upload.id]) }),
           exists != true {
            unlink(upload.finalPath)
        }
    }

    // MARK: Reading

    public func list(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws -> [JSONValue] {
        try await directory.readAuthorized(identity, patientID, .patientsReadClinical, action: "document.list", origin: origin) { db, granted in
            try String.fetchAll(db, sql: """
                SELECT id FROM documents WHERE facility_id = ? AND patient_id = ? AND deleted_at IS NULL ORDER BY created_at DESC, id
                """, arguments: [granted.facilityID, patientID]).compactMap { try Self.metadata($0, cipher: cipher, in: db) }
        }
    }

    public func detail(_ identity: Identity, id: String, origin: RequestOrigin) async throws -> JSONValue {
        guard let patientID = try await AccessPolicy.patientOfRecord(.documents, id, in: pool) else { throw RecordFailure.notFound("document") }
        return try await directory.readAuthorized(identity, patientID, .patientsReadClinical, action: "document.read", origin: origin) { db, _ in
            guard let output = try Self.metadata(id, cipher: cipher, in: db) else { throw RecordFailure.notFound("document") }
            return output
        }
    }

    public func delete(_ identity: Identity, id: String, origin: RequestOrigin) async throws {
        guard let patientID = try await AccessPolicy.patientOfRecord(.documents, id, in: pool) else { throw RecordFailure.notFound("document") }
        let directory = self.directory
        try await directory.writeAuthorized(identity, patientID, .documentsManage, action: "document.delete", origin: origin) { db, granted in
            let stamp = Timestamp.now()
            try db.execute(sql: "UPDATE documents SET deleted_at = ?, deleted_by = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
                           arguments: [stamp, identity.subjectID, stamp, id])
            guard db.changesCount == 1 else { throw RecordFailure.notFound("document") }
            try appliance.audit.append(directory.successEvent("document.delete", identity, granted, origin, details: ["record": id]), in: db)
        }
    }

    /// Staff download, audited; with `consentID`, a release under that consent,
    /// recorded in the accounting of disclosures (refused unless the consent
    /// is active and covers documents).
    public func download(_ identity: Identity, id: String, consentID: String?, origin: RequestOrigin) async throws -> Download {
        guard let patientID = try await AccessPolicy.patientOfRecord(.documents, id, in: pool) else { throw RecordFailure.notFound("document") }
        let directory = self.directory
        return try await directory.writeAuthorized(identity, patientID, .patientsReadClinical, action: "document.download", origin: origin) { db, granted -> Download in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM documents WHERE id = ? AND deleted_at IS NULL", arguments: [id]) else {
                throw RecordFailure.notFound("document")
            }
            var details = ["record": id]
            if let consentID {
                details["disclosure"] = try Consents(appliance: appliance).record(facilityID: granted.facilityID, patientID: patientID, consentID: consentID,
                                                                                  kind: "document", description: nil, documentID: id,
                                                                                  staffID: identity.subjectID, in: db)
            }
            try appliance.audit.append(directory.successEvent("document.download", identity, granted, origin, details: details), in: db)
            return try open(row)
        }
    }

    /// The patient's own visible documents.
    public func listOwn(_ identity: Identity) async throws -> [JSONValue] {
        let own = try AccessPolicy.ownRecords(identity)
        return try await appliance.database.read { db in
            try String.fetchAll(db, sql: """
                SELECT id FROM documents WHERE facility_id = ? AND patient_id = ? AND patient_visible = 1 AND deleted_at IS NULL ORDER BY created_at DESC, id
                """, arguments: [own.facilityID, own.id]).compactMap { try Self.metadata($0, cipher: cipher, in: db, forPatient: true) }
        }
    }

    /// A patient downloads one of their visible documents; any other is 404 (audited as denied).
    public func downloadOwn(_ identity: Identity, id: String, origin: RequestOrigin) async throws -> Download {
        do {
            return try await pool.write { db -> Download in
                let own = try AccessPolicy.patientVisibleDocument(identity, id, in: db)
                try appliance.audit.append(AuditEvent(action: "document.download", outcome: .success, actorKind: .patient, actorID: own.id,
                                                      facilityID: own.facilityID, resourceType: "document", resourceID: id, patientID: own.id,
                                                      ipAddress: origin.ipAddress, requestID: origin.requestID), in: db)
                return try open(try Row.fetchOne(db, sql: "SELECT * FROM documents WHERE id = ?", arguments: [id])!)
            }
        } catch let error as AccessError {
            try await appliance.auditWriter.record(.denied("document.download", by: identity, resourceType: "document", resourceID: id,
                                                           reason: error, origin))
            throw RecordFailure.notFound("document")
        }
    }

    func open(_ row: Row) throws -> Download {
        let id: String = row["id"]
        let keyID = UInt64(bitPattern: row["key_id"] as Int64)
        let size: Int = row["size_bytes"]
        let reader = try DocumentFile.Reader(path: "\(folder)/\(row["storage_name"] as String)",
                                             key: appliance.documentKeys.key(keyID, version: row["key_version"]),
                                             documentID: id, size: size, sha256: Array(row["sha256"] as Data))
        return Download(contentType: row["content_type"], size: size, id: id, reader: reader)
    }

    static func metadata(_ id: String, cipher: FieldCipher, in db: Database, forPatient: Bool = false) throws -> JSONValue? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM documents WHERE id = ?", arguments: [id]) else { return nil }
        var output: [String: JSONValue] = [
            "id": .string(id), "patient_id": .string(row["patient_id"]),
            "title": .string(try cipher.openString(row["title_enc"], field: .documentsTitle, rowID: id)),
            "type": .string(row["category"] ?? "other"), "content_type": .string(row["content_type"]), "size_bytes": .integer(row["size_bytes"]),
            "sha256": .string(Array(row["sha256"] as Data).map { String(format: "%02x", $0) }.joined()),
            "patient_visible": .bool(row["patient_visible"]), "created_at": .string(row["created_at"]),
        ]
        if !forPatient {
            output["filename"] = try cipher.openString(optional: row["filename_enc"], field: .documentsFilename, rowID: id).map(JSONValue.string) ?? .null
            output["uploaded_by"] = (row["uploaded_by"] as String?).map(JSONValue.string) ?? .null
            output["deleted_at"] = (row["deleted_at"] as String?).map(JSONValue.string) ?? .null
        }
        return .object(output)
    }
}
