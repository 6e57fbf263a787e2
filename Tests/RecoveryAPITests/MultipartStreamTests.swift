import Foundation
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

/// The streaming multipart parser gives the same parts whatever the pieces
/// the body arrives in, and tells a complete body from a cut one.
@Suite struct MultipartStreamTests {
    static let boundary = "b0undary-XyZ"

    static func body(_ file: [UInt8]) -> [UInt8] {
        Array("preamble\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nA title\r\n".utf8)
            + Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.pdf\"\r\nContent-Type: application/pdf\r\n\r\n".utf8)
            + file + Array("\r\n--\(boundary)--\r\nepilogue".utf8)
    }

    static func parse(_ body: [UInt8], pieces: Int) throws -> (fields: [String: [UInt8]], filename: String?, done: Bool) {
        var parser = MultipartStream(boundary: boundary)
        var fields: [String: [UInt8]] = [:]
        var current: String?
        var filename: String?
        var start = 0
        var generator = SystemRandomNumberGenerator()
        while start < body.count {
            let size = pieces == 1 ? 1 : Int.random(in: 1...pieces, using: &generator)
            let end = min(body.count, start + size)
            for event in try parser.feed(body[start..<end]) {
                switch event {
                case .part(let name, let file): current = name; fields[name] = []; if file != nil { filename = file }
                case .data(let bytes): fields[current!]! += bytes
                case .partEnd: current = nil
                }
            }
            start = end
        }
        return (fields, filename, parser.isDone)
    }

    @Test func thePartsAreTheSameWhateverThePieces() throws {
        // A file that contains near-boundaries: CR LF, dashes, the boundary without its dashes.
        let file = Array("%PDF-1.7\r\n--b0undary-Xy\r\n\r\n--\r\nb0undary-XyZ\r\n-".utf8) + (0..<5_000).map { UInt8($0 % 251) }
        for pieces in [1, 2, 7, 64, 1_000, 100_000] {
            let (fields, filename, done) = try Self.parse(Self.body(file), pieces: pieces)
            #expect(done, "pieces up to \(pieces)")
            #expect(fields["title"] == Array("A title".utf8) && fields["file"] == file && filename == "x.pdf", "pieces up to \(pieces)")
        }
    }

    @Test func aCutBodyIsNotDoneAndBadFramingIsRefused() throws {
        let full = Self.body(Array("%PDF-1.7 hello".utf8))
        #expect(try !Self.parse(Array(full.prefix(full.count - 20)), pieces: 64).done)
        #expect(throws: DocumentFailure.self) {
            _ = try Self.parse(Array("--\(Self.boundary)\r\nX-No-Disposition: 1\r\n\r\nbody\r\n--\(Self.boundary)--".utf8), pieces: 64)
        }
        #expect(MultipartStream.boundary(contentType: "multipart/form-data; boundary=\"abc\"") == "abc")
        #expect(MultipartStream.boundary(contentType: "application/json") == nil)
        #expect(MultipartStream.boundary(contentType: "multipart/form-data") == nil)
    }

    @Test func theSnifferDecidesByTheBytes() {
        #expect(DocumentSniffer.sniff(Array("%PDF-1.4".utf8)) == "application/pdf")
        #expect(DocumentSniffer.sniff([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]) == "image/png")
        #expect(DocumentSniffer.sniff([0xFF, 0xD8, 0xFF, 0xE0]) == "image/jpeg")
        #expect(DocumentSniffer.sniff(Array("Lab result: négatif\n".utf8)) == "text/plain")
        #expect(DocumentSniffer.sniff([0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0]) == nil)   // ELF
        #expect(DocumentSniffer.sniff(Array("MZ".utf8) + [0x90, 0, 3, 0]) == nil)        // PE
        #expect(DocumentSniffer.sniff([0xC3, 0x28]) == nil)                              // not UTF-8
        #expect(DocumentSniffer.sniff([]) == nil)
    }
}
