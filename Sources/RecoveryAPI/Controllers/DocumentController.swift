import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RecoveryCore

/// A patient's documents: streamed multipart upload (encrypted in chunks as
/// it arrives), list, metadata, streamed download, soft delete; the patient's
/// own visible documents under `/me/documents`.
struct DocumentController {
    let appliance: Appliance

    var documents: Documents { Documents(appliance: appliance) }

    /// The upload route's own body limit: the largest document plus room for
    /// the multipart framing and the small fields.
    static func uploadLimit(_ settings: Settings) -> Int { settings.documentsMaxBytes + 65_536 }

    /// Whether a request is a document upload (its body limit is `uploadLimit`).
    static func isUpload(_ request: Request) -> Bool {
        guard request.method == .post else { return false }
        let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 6 && parts[1] == "api" && parts[2] == "v1" && parts[3] == "patients" && parts[5] == "documents"
    }

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/api/v1/patients/{id}/documents", access: .staff(.patientsReadClinical), handler: list),
            Endpoint(.post, "/api/v1/patients/{id}/documents", access: .staff(.documentsManage), handler: upload),
            Endpoint(.get, "/api/v1/documents/{id}", access: .staff(.patientsReadClinical), handler: detail),
            Endpoint(.delete, "/api/v1/documents/{id}", access: .staff(.documentsManage), handler: delete),
            Endpoint(.get, "/api/v1/documents/{id}/content", access: .staff(.patientsReadClinical), handler: download),
            Endpoint(.get, "/api/v1/me/documents", access: .patient, handler: mine),
            Endpoint(.get, "/api/v1/me/documents/{id}/content", access: .patient, handler: downloadOwn),
        ]
    }

    @Sendable func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return JSONValue.object(["data": .array(try await documents.list(context.identity, patientID: id, origin: context.origin))]).response()
    }

    @Sendable func detail(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return JSONValue.object(["document": try await documents.detail(context.identity, id: id, origin: context.origin)]).response()
    }

    @Sendable func delete(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await documents.delete(context.identity, id: id, origin: context.origin)
        return Response(status: .noContent)
    }

    @Sendable func mine(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        JSONValue.object(["data": .array(try await documents.listOwn(context.identity))]).response()
    }

    @Sendable func download(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let consentID = try Query(request: request).uuid("consent_id")
        return Self.stream(try await documents.download(context.identity, id: id, consentID: consentID, origin: context.origin))
    }

    @Sendable func downloadOwn(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return Self.stream(try await documents.downloadOwn(context.identity, id: id, origin: context.origin))
    }

    /// The plain bytes, decrypted chunk by chunk as they are sent. A chunk or
    /// hash that does not check ends the response early (the client sees a
    /// body shorter than its Content-Length).
    static func stream(_ download: Documents.Download) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = download.contentType
        headers[.contentLength] = String(download.size)
        headers[.contentDisposition] = "attachment; filename=\"\(download.id)\(fileExtension(download.contentType))\""
        headers[.cacheControl] = "no-store"
        let reader = download.reader
        return Response(status: .ok, headers: headers, body: ResponseBody(contentLength: download.size) { writer in
            while let chunk = try reader.next() {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        })
    }

    static func fileExtension(_ contentType: String) -> String {
        switch contentType {
        case "application/pdf": return ".pdf"
        case "image/png": return ".png"
        case "image/jpeg": return ".jpg"
        default: return ".txt"
        }
    }

    // MARK: Upload

    @Sendable func upload(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let patientID = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: patientID, .documentsManage, action: "document.create", appliance)
        guard let boundary = request.headers[.contentType].flatMap(MultipartStream.boundary(contentType:)) else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type",
                           message: "Send the document as multipart/form-data with a boundary.")
        }
        let limit = appliance.settings.documentsMaxBytes
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > Self.uploadLimit(appliance.settings) {
            throw DocumentFailure.tooLarge(limit: limit)
        }
        let upload = try await documents.begin(context.identity, patientID: patientID, origin: context.origin)
        var fields: [String: String] = [:]
        var filename: String?
        do {
            var parser = MultipartStream(boundary: boundary)
            var current: String?
            var fieldBytes: [UInt8] = []
            var sawFile = false
            var head: [UInt8] = []
            var isText = false
            var received = 0
            func fileBytes(_ bytes: [UInt8]) throws {
                if upload.contentType == nil {
                    head.append(contentsOf: bytes)
                    guard head.count >= 512 else { return }
                    try decide()
                    return
                }
                if isText, !DocumentSniffer.isText(bytes[...]) { throw DocumentFailure.unsupportedType }
                try upload.writer.append(bytes)
            }
            func decide() throws {
                guard let type = DocumentSniffer.sniff(Array(head.prefix(512))) else { throw DocumentFailure.unsupportedType }
                upload.contentType = type
                isText = type == "text/plain"
                if isText, !DocumentSniffer.isText(head[...]) { throw DocumentFailure.unsupportedType }
                try upload.writer.append(head)
                head = []
            }
            for try await buffer in request.body {
                received += buffer.readableBytes
                if received > Self.uploadLimit(appliance.settings) { throw DocumentFailure.tooLarge(limit: limit) }
                let events = try buffer.withUnsafeReadableBytes { try parser.feed($0) }
                for event in events {
                    switch event {
                    case .part(let name, let partFilename):
                        current = name
                        fieldBytes = []
                        if name == "file" {
                            if sawFile { throw DocumentFailure.malformed("more than one file") }
                            sawFile = true
                            filename = partFilename
                        }
                    case .data(let bytes):
                        if current == "file" { try fileBytes(bytes) }
                        else if current != nil {
                            fieldBytes.append(contentsOf: bytes)
                            if fieldBytes.count > 4_096 { throw APIError.validation(field: current!, "is too long") }
                        }
                    case .partEnd:
                        if current == "file" {
                            if upload.contentType == nil { try decide() }
                        } else if let name = current {
                            fields[name] = String(decoding: fieldBytes, as: UTF8.self)
                        }
                        current = nil
                    }
                }
                if parser.isDone { break }
            }
            guard parser.isDone else { throw DocumentFailure.malformed("the upload ended before its last boundary") }
            guard sawFile else { throw APIError.validation(field: "file", "is required") }
        } catch {
            documents.abort(upload)
            throw error
        }
        let visible: Bool
        switch fields["patient_visible"]?.lowercased() {
        case nil, "", "false", "0": visible = false
        case "true", "1": visible = true
        default:
            documents.abort(upload)
            throw APIError.validation(field: "patient_visible", "must be true or false")
        }
        let document = try await documents.commit(context.identity, upload, title: fields["title"], type: fields["type"], patientVisible: visible,
                                                  filename: filename, origin: context.origin)
        return JSONValue.object(["document": document]).response(status: .created)
    }
}
