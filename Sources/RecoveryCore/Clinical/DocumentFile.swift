import CSodium
import Foundation

/// Why a document's bytes cannot be stored or read.
public enum DocumentFailure: Error, Equatable, Sendable {
    /// Larger than `documents.max_bytes` (413).
    case tooLarge(limit: Int)
    /// Not a PDF, PNG, JPEG or plain text by its bytes (415).
    case unsupportedType
    /// The upload ended before its closing boundary, or is not multipart (400).
    case malformed(String)
    /// The disk is full (507).
    case diskFull
    /// The stored file does not open, or its bytes do not match the hash (500).
    case corrupt
}

/// The content types a document may have, decided from its bytes.
public enum DocumentSniffer {
    public static let types = ["application/pdf", "image/png", "image/jpeg", "text/plain"]

    /// The type of a file that starts with `head` (its first bytes, up to 512),
    /// or nil when it is none of the accepted types. Plain text is checked
    /// further as the rest streams by (`isText`).
    public static func sniff(_ head: [UInt8]) -> String? {
        if head.starts(with: Array("%PDF-".utf8)) { return "application/pdf" }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if !head.isEmpty, isText(head[...]), String(validating: trimmedToCompleteUTF8(head), as: UTF8.self) != nil { return "text/plain" }
        return nil
    }

    /// No NUL and no control characters other than tab, line feed, form feed,
    /// carriage return (what a text file has and an executable does not).
    public static func isText(_ bytes: ArraySlice<UInt8>) -> Bool {
        !bytes.contains { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0C && $0 != 0x0D || $0 == 0x7F }
    }

    /// `head` without a UTF-8 sequence cut at its end.
    static func trimmedToCompleteUTF8(_ head: [UInt8]) -> [UInt8] {
        var end = head.count
        var back = 0
        while end > 0, back < 3, head[end - 1] & 0xC0 == 0x80 { end -= 1; back += 1 }
        if end > 0, head[end - 1] >= 0xC0 {
            let lead = head[end - 1]
            let need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : 1
            if back < need { return Array(head[..<(end - 1)]) }
        }
        return head
    }
}

/// One document's encrypted file: libsodium's secretstream
/// (XChaCha20-Poly1305) with the file's own sub-key, in chunks of 64 KiB of
/// plain bytes, each authenticated with the document id as associated data
/// and the last one tagged final (so a cut file does not open). The file is
/// the stream header (24 bytes) then the chunks. The SHA-256 of the plain
/// bytes is computed as they pass, for the database and the download check.
public enum DocumentFile {
    public static let chunkSize = 65_536
    static var headerBytes: Int { Int(crypto_secretstream_xchacha20poly1305_headerbytes()) }
    static var aBytes: Int { Int(crypto_secretstream_xchacha20poly1305_abytes()) }

    /// Writes a new encrypted file at `path` (created, never overwritten).
    public final class Writer: @unchecked Sendable {
        let fd: Int32
        public let path: String
        var state = crypto_secretstream_xchacha20poly1305_state()
        var hash = crypto_hash_sha256_state()
        var pending: [UInt8] = []
        let ad: [UInt8]
        let limit: Int
        public private(set) var size = 0
        var failWritesAfter: Int?
        var written = 0
        var closed = false

        /// `failWritesAfter`: tests only, a disk that fills after that many bytes.
        public init(path: String, key: [UInt8], documentID: String, limit: Int, failWritesAfter: Int? = nil) throws {
            Sodium.ensureInitialized()
            self.path = path
            self.ad = Array(documentID.utf8)
            self.limit = limit
            self.failWritesAfter = failWritesAfter
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw errno == ENOSPC ? DocumentFailure.diskFull : CocoaError(.fileWriteUnknown) }
            var header = [UInt8](repeating: 0, count: DocumentFile.headerBytes)
            crypto_secretstream_xchacha20poly1305_init_push(&state, &header, key)
            crypto_hash_sha256_init(&hash)
            do { try writeAll(header) } catch { discard(); throw error }
        }

        /// Adds plain bytes; writes each full chunk encrypted.
        public func append(_ bytes: UnsafeRawBufferPointer) throws {
            size += bytes.count
            if size > limit { throw DocumentFailure.tooLarge(limit: limit) }
            if let base = bytes.baseAddress, bytes.count > 0 {
                crypto_hash_sha256_update(&hash, base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
            }
            pending.append(contentsOf: bytes)
            // Keep the last chunk back: only finish() knows it is the final one.
            while pending.count > DocumentFile.chunkSize {
                try push(pending[..<DocumentFile.chunkSize], final: false)
                pending.removeFirst(DocumentFile.chunkSize)
            }
        }

        public func append(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try append($0) }
        }

        /// Writes the final chunk, syncs the file to disk and returns the
        /// SHA-256 of the plain bytes.
        public func finish() throws -> [UInt8] {
            try push(pending[...], final: true)
            pending = []
            guard fsync(fd) == 0 else { throw errno == ENOSPC ? DocumentFailure.diskFull : CocoaError(.fileWriteUnknown) }
            close(fd)
            closed = true
            var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_bytes()))
            crypto_hash_sha256_final(&hash, &digest)
            return digest
        }

        /// Removes the file (an upload that failed or was refused).
        public func discard() {
            if !closed { close(fd); closed = true }
            unlink(path)
        }

        func push(_ chunk: ArraySlice<UInt8>, final: Bool) throws {
            var out = [UInt8](repeating: 0, count: chunk.count + DocumentFile.aBytes)
            var outLength: UInt64 = 0
            let tag = final ? crypto_secretstream_xchacha20poly1305_tag_final() : crypto_secretstream_xchacha20poly1305_tag_message()
            let rc = chunk.withUnsafeBufferPointer { message in
                crypto_secretstream_xchacha20poly1305_push(&state, &out, &outLength, message.baseAddress, UInt64(chunk.count),
                                                           ad, UInt64(ad.count), tag)
            }
            guard rc == 0 else { throw DocumentFailure.corrupt }
            try writeAll(out[..<Int(outLength)])
        }

        func writeAll(_ bytes: some Collection<UInt8>) throws {
            var rest = Array(bytes)[...]
            while !rest.isEmpty {
                if let failAt = failWritesAfter, written + rest.count > failAt { throw DocumentFailure.diskFull }
                let n = rest.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw errno == ENOSPC || errno == EDQUOT ? DocumentFailure.diskFull : CocoaError(.fileWriteUnknown)
                }
                written += n
                rest = rest.dropFirst(n)
            }
        }

        deinit { if !closed { close(fd) } }
    }

    /// Reads an encrypted file chunk by chunk, checking each chunk, that the
    /// last is final, the size and the SHA-256 of the plain bytes.
    public final class Reader: @unchecked Sendable {
        let fd: Int32
        var state = crypto_secretstream_xchacha20poly1305_state()
        var hash = crypto_hash_sha256_state()
        let ad: [UInt8]
        let expectedHash: [UInt8]
        let expectedSize: Int
        var size = 0
        var finished = false

        public init(path: String, key: [UInt8], documentID: String, size: Int, sha256: [UInt8]) throws {
            Sodium.ensureInitialized()
            ad = Array(documentID.utf8)
            expectedHash = sha256
            expectedSize = size
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw DocumentFailure.corrupt }
            var header = [UInt8](repeating: 0, count: DocumentFile.headerBytes)
            guard Self.readFull(fd, &header) == header.count,
                  crypto_secretstream_xchacha20poly1305_init_pull(&state, header, key) == 0 else { close(fd); throw DocumentFailure.corrupt }
            crypto_hash_sha256_init(&hash)
        }

        /// The next chunk of plain bytes, nil after the last (all checks passed).
        public func next() throws -> [UInt8]? {
            if finished { return nil }
            var sealed = [UInt8](repeating: 0, count: DocumentFile.chunkSize + DocumentFile.aBytes)
            let got = Self.readFull(fd, &sealed)
            guard got >= DocumentFile.aBytes else { throw DocumentFailure.corrupt }
            var plain = [UInt8](repeating: 0, count: got - DocumentFile.aBytes)
            var plainLength: UInt64 = 0
            var tag: UInt8 = 0
            guard crypto_secretstream_xchacha20poly1305_pull(&state, &plain, &plainLength, &tag, sealed, UInt64(got), ad, UInt64(ad.count)) == 0 else {
                throw DocumentFailure.corrupt
            }
            size += Int(plainLength)
            crypto_hash_sha256_update(&hash, plain, plainLength)
            if tag == crypto_secretstream_xchacha20poly1305_tag_final() {
                var extra = [UInt8](repeating: 0, count: 1)
                guard Self.readFull(fd, &extra) == 0, size == expectedSize else { throw DocumentFailure.corrupt }
                var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_bytes()))
                crypto_hash_sha256_final(&hash, &digest)
                guard ConstantTime.equals(digest, expectedHash) else { throw DocumentFailure.corrupt }
                finished = true
                close(fd)
            } else if got != sealed.count {
                throw DocumentFailure.corrupt
            }
            return plain
        }

        static func readFull(_ fd: Int32, _ buffer: inout [UInt8]) -> Int {
            var total = 0
            while total < buffer.count {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, $0.count - total) }
                if n < 0 { if errno == EINTR { continue }; return -1 }
                if n == 0 { break }
                total += n
            }
            return total
        }

        deinit { if !finished { close(fd) } }
    }
}
