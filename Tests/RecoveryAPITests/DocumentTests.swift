import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

extension TestClientProtocol {
    /// A multipart/form-data upload of `file` with the given fields.
    func upload(_ uri: String, file: [UInt8], filename: String = "scan.pdf", fields: [String: String], token: String,
                declaredLength: Int? = nil) async throws -> TestResponse {
        let boundary = "----recovery-test-\(UUID().uuidString)"
        var body: [UInt8] = []
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: application/pdf\r\n\r\n".utf8)
        body += file
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        var headers = HTTPFields()
        headers[.authorization] = "Bearer \(token)"
        headers[.contentType] = "multipart/form-data; boundary=\(boundary)"
        if let declaredLength { headers[.contentLength] = String(declaredLength) }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }
}

@Suite struct DocumentTests {
    static func pdf(_ size: Int) -> [UInt8] {
        var bytes = Array("%PDF-1.7\n".utf8)
        var generator = SystemRandomNumberGenerator()
        while bytes.count < size { bytes.append(UInt8.random(in: 0...255, using: &generator)) }
        return bytes
    }

    static func files(_ box: TestAppliance) -> [String] {
        let folder = box.appliance.settings.dataDirectory + "/documents"
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    static func rows(_ box: TestAppliance) async throws -> Int {
        try await box.appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM documents")! }
    }

    @Test func uploadListDownloadByteIdenticalEncryptedAtRestAndVisibleToThePatient() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let file = Self.pdf(3 * 65_536 + 123)
            let title = "Discharge summary for Marisol, confidential"
            let made = try await client.upload("/api/v1/patients/\(p.patientA)/documents", file: file, filename: "summary-marisol.pdf",
                                               fields: ["title": title, "type": "discharge_summary", "patient_visible": "true"], token: p.counselorA1)
            #expect(made.status == .created, "\(made.text)")
            let document = try #require(made.json["document"] as? [String: Any])
            let id = try #require(document["id"] as? String)
            #expect(document["content_type"] as? String == "application/pdf" && document["size_bytes"] as? Int == file.count)
            #expect(document["title"] as? String == title && document["type"] as? String == "discharge_summary")

            let downloaded = try await client.get("/api/v1/documents/\(id)/content", token: p.counselorA1)
            #expect(downloaded.status == .ok && Array(buffer: downloaded.body) == file)
            #expect(downloaded.headers[.contentType] == "application/pdf")
            let own = try await client.get("/api/v1/me/documents/\(id)/content", token: p.patientToken)
            #expect(own.status == .ok && Array(buffer: own.body) == file)
            #expect((try await client.get("/api/v1/me/documents", token: p.patientToken).json["data"] as? [[String: Any]])?.count == 1)

            // Nothing readable on disk: neither the bytes nor the title; file names say nothing.
            let names = Self.files(box)
            #expect(names.count == 1 && names[0].count == 40 && !names[0].contains("summary"))
            let stored = try Data(contentsOf: URL(fileURLWithPath: box.appliance.settings.dataDirectory + "/documents/" + names[0]))
            #expect(stored.range(of: Data(file[100..<200])) == nil && stored.range(of: Data("%PDF".utf8)) == nil)
            #expect(stored.range(of: Data("Marisol".utf8)) == nil)

            // Every download is audited.
            let audited = try await box.appliance.database.pool.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs WHERE action = 'document.download' AND outcome = 'success'")!
            }
            #expect(audited == 2)

            // An invisible document: 404 to the patient, listed for staff.
            let hidden = try await client.upload("/api/v1/patients/\(p.patientA)/documents", file: Array("Lab result: negative\n".utf8), filename: "lab.txt",
                                                 fields: ["title": "Urine screen", "type": "lab_result"], token: p.nurseA)
            #expect(hidden.status == .forbidden)   // the nurse is not on the care team
            let lab = try await client.upload("/api/v1/patients/\(p.patientA)/documents", file: Array("Lab result: negative\n".utf8), filename: "lab.txt",
                                              fields: ["title": "Urine screen", "type": "lab_result"], token: p.counselorA1)
            let labDoc = try #require(lab.json["document"] as? [String: Any], "\(lab.text)")
            let labID = try #require(labDoc["id"] as? String)
            #expect(labDoc["content_type"] as? String == "text/plain" && labDoc["patient_visible"] as? Bool == false)
            #expect(try await client.get("/api/v1/me/documents/\(labID)/content", token: p.patientToken).status == .notFound)
            #expect((try await client.get("/api/v1/me/documents", token: p.patientToken).json["data"] as? [Any])?.count == 1)
            #expect((try await client.get("/api/v1/patients/\(p.patientA)/documents", token: p.counselorA1).json["data"] as? [Any])?.count == 2)
            #expect(try await client.get("/api/v1/documents/\(labID)/content", token: p.adminB).status == .notFound)
            #expect(try await client.get("/api/v1/documents/\(labID)/content", token: p.counselorA2).status == .forbidden)

            // A release under a consent is recorded in the accounting; a consent that does not cover documents is refused.
            let consent = try await client.post("/api/v1/patients/\(p.patientA)/consents", [
                "recipient": "Riverside Family Practice", "purpose": "care_coordination", "information_scope": ["documents"],
                "expiry_condition": "End of treatment", "signer_name": "Marisol Quenneville", "signed_on": "2026-11-02"], token: p.counselorA1)
            let consentID = try #require((consent.json["consent"] as? [String: Any])?["id"] as? String, "\(consent.text)")
            let released = try await client.get("/api/v1/documents/\(id)/content?consent_id=\(consentID)", token: p.counselorA1)
            #expect(released.status == .ok)
            let accounting = try await client.get("/api/v1/patients/\(p.patientA)/disclosures", token: p.counselorA1)
            #expect((accounting.json["data"] as? [[String: Any]])?.first?["document_id"] as? String == id)

            // Soft delete: gone from lists and downloads, the row kept.
            #expect(try await client.delete("/api/v1/documents/\(id)", token: p.counselorA1).status == .noContent)
            #expect(try await client.get("/api/v1/me/documents/\(id)/content", token: p.patientToken).status == .notFound)
            #expect(try await client.get("/api/v1/documents/\(id)/content", token: p.counselorA1).status == .notFound)
            #expect(try await Self.rows(box) == 2)
        }
    }

    @Test func aRenamedExecutableAnOversizedUploadACutUploadAndAFullDiskLeaveNothing() async throws {
        let box = try await TestAppliance { settings in settings.documentsMaxBytes = 200_000 }
        try await box.test { client in
            let p = try await People.make(box, client)
            let url = "/api/v1/patients/\(p.patientA)/documents"
            let fields = ["title": "Scan", "type": "other"]
            // An ELF executable named .pdf.
            var elf: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + Array(repeating: 0, count: 8) + Array(repeating: 0x90, count: 4_000)
            elf[20] = 1
            let exe = try await client.upload(url, file: elf, filename: "report.pdf", fields: fields, token: p.counselorA1)
            #expect(exe.status == .unsupportedMediaType && exe.errorCode == "unsupported_document_type", "\(exe.text)")
            // Text that turns binary after its first bytes.
            let sneaky = Array(String(repeating: "plain words ", count: 100).utf8) + [0, 1, 2, 3]
            #expect(try await client.upload(url, file: sneaky, filename: "notes.txt", fields: fields, token: p.counselorA1).status == .unsupportedMediaType)
            // Over the limit as it streams (a declared length over it is refused before reading: e2e test_clinical.py).
            let big = Self.pdf(250_000)
            let streamed = try await client.upload(url, file: big, fields: fields, token: p.counselorA1)
            #expect(streamed.status == .contentTooLarge, "\(streamed.text)")
            // Cut: the body ends before the closing boundary.
            var headers = HTTPFields()
            headers[.authorization] = "Bearer \(p.counselorA1)"
            headers[.contentType] = "multipart/form-data; boundary=XyZ"
            let cut = Array("--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nScan\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n".utf8) + Self.pdf(100_000)
            let interrupted = try await client.execute(uri: url, method: .post, headers: headers, body: ByteBuffer(bytes: cut))
            #expect(interrupted.status == .badRequest && interrupted.errorCode == "invalid_upload", "\(interrupted.text)")
            // Not multipart.
            #expect(try await client.post(url, ["title": "x"], token: p.counselorA1).status == .unsupportedMediaType)
            // Missing fields: a named 422, nothing kept.
            let untitled = try await client.upload(url, file: Self.pdf(1_000), fields: ["type": "other"], token: p.counselorA1)
            #expect(untitled.status == .unprocessableContent && untitled.errorFields == ["title"])
            #expect(Self.files(box).isEmpty, "\(Self.files(box))")
            #expect(try await Self.rows(box) == 0)
        }
        // A disk that fills mid-file: 507, nothing kept.
        var filling = Documents(appliance: box.appliance)
        filling.failWritesAfter = 100_000
        let documents = filling
        try await box.test { client in
            let token = try await client.staffToken()
            let (patient, _) = try await client.createPatient(token: token)
            let upload = try await documents.begin(try await Self.identity(box, token: token), patientID: patient, origin: RequestOrigin())
            await #expect(throws: DocumentFailure.diskFull) {
                do { try upload.writer.append(Self.pdf(150_000)) } catch { documents.abort(upload); throw error }
            }
            #expect(Self.files(box).isEmpty)
            let response = APIError(domain: DocumentFailure.diskFull)
            #expect(response?.status.code == 507)

            // What a crash leaves behind (an unfinished upload, a file no row names) is swept when old enough.
            let folder = box.appliance.settings.dataDirectory + "/documents"
            for name in ["0123456789abcdef0123456789abcdef01234567.partial", "fedcba9876543210fedcba9876543210fedcba98"] {
                FileManager.default.createFile(atPath: folder + "/" + name, contents: Data([1, 2, 3]))
            }
            #expect(try documents.sweep(olderThan: 3_600).isEmpty)
            #expect(try documents.sweep(olderThan: -1).sorted() == ["0123456789abcdef0123456789abcdef01234567.partial",
                                                                     "fedcba9876543210fedcba9876543210fedcba98"])
            #expect(Self.files(box).isEmpty)
        }
    }

    static func identity(_ box: TestAppliance, token: String) async throws -> Identity {
        guard let identity = await box.appliance.accessTokens.verify(token) else { throw TestFailure("token") }
        return identity
    }
}
