import Crypto
import Foundation

/// One file of the staff console as it is served: its URL path, content type,
/// bytes and entity tag (a digest of the bytes, so a browser revalidates and
/// gets 304 until the appliance is upgraded).
struct ConsoleFile: Sendable {
    let path: String
    let contentType: String
    let bytes: [UInt8]
    let etag: String

    init(path: String, contentType: String, bytes: [UInt8]) {
        self.path = path
        self.contentType = contentType
        self.bytes = bytes
        self.etag = "\"" + SHA256.hash(data: bytes).prefix(16).map { String(format: "%02x", $0) }.joined() + "\""
    }

    /// Whether an `If-None-Match` header names this file's current version.
    func matches(ifNoneMatch header: String?) -> Bool {
        guard let header else { return false }
        return header.split(separator: ",").contains { tag in
            let tag = tag.trimmingCharacters(in: .whitespaces)
            return tag == "*" || tag == etag || tag == "W/" + etag
        }
    }
}
