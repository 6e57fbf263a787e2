import Foundation
import Testing
@testable import RecoveryCore

@Suite struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func agreesWithFoundationOnValidDocuments() throws {
        let documents = [
            #"{"a": 1, "b": -2.5, "c": true, "d": false, "e": null, "f": [1, "two", {"g": []}], "h": {}}"#,
            #"["é", "\u00e9", "\ud83d\ude00", "tab\there", "quote\"slash\\/", "", 0, -0, 1e3, 2.0, 12345678901234]"#,
            #"  "just a string"  "#, "42", "3.25", #"{"nested": {"deeper": {"deepest": [[[]]]}}}"#,
        ]
        for document in documents {
            let expected = try JSONDecoder().decode(JSONValue.self, from: Data(document.utf8))
            #expect(try parse(document) == expected, "\(document)")
        }
    }

    @Test func refusesWhatIsNotJSON() {
        let bad = ["", "{", "[1,]", #"{"a":1,}"#, "{'a':1}", "01", "1.", ".5", "+1", "NaN", "tru", "nul", #""\x""#, "\"a\u{01}b\"",
                   #""\ud800""#, #""\udc00x""#, "[1] [2]", #"{"a" 1}"#, "1e", "--1", "\u{FEFF}{}"]
        for text in bad {
            #expect(throws: JSONParser.Failure.self, "\(text)") { try parse(text) }
        }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0xFF, 0xFE, 0x22]) }   // not UTF-8
    }

    @Test func boundsNesting() throws {
        let deep = String(repeating: "[", count: JSONParser.maxDepth + 2) + String(repeating: "]", count: JSONParser.maxDepth + 2)
        #expect(throws: JSONParser.Failure.self) { try parse(deep) }
        let fine = String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        #expect(throws: Never.self) { try parse(fine) }
        let hostile = String(repeating: "[", count: 200_000)
        #expect(throws: JSONParser.Failure.self) { try parse(hostile) }
    }

    @Test func keepsWholeNumbersApartFromFractions() throws {
        #expect(try parse("7") == .integer(7))
        #expect(try parse("7.0") == .integer(7))
        #expect(try parse("7.5") == .number(7.5))
        #expect(try parse("true") == .bool(true))
    }
}
