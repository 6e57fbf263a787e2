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

    /// Parsers disagree on which copy of a repeated key counts, so a body
    /// with one is refused, naming the key and where it is.
    @Test func refusesAKeyRepeatedInOneObject() {
        let cases: [(String, String)] = [
            (#"{"email":"a","email":"b"}"#, "email"),
            (#"{"email":"a","e\u006dail":"a"}"#, "email"),
            (#"{"a":{"b":1,"c":{"d":[],"d":null}}}"#, "a.c.d"),
            (#"{"items":[{"id":1},{"id":2,"data":{"mood":3,"note":"x","mood":4}}]}"#, "items[1].data.mood"),
            (#"[[1],[{"k":1,"k":1}]]"#, "[1][0].k"),
        ]
        for (text, field) in cases {
            do {
                _ = try parse(text)
                Issue.record("accepted \(text)")
            } catch let failure as JSONParser.Failure {
                #expect(failure.duplicateField == field, "\(text)")
            } catch {
                Issue.record("\(error)")
            }
        }
        // The same key in different objects, or differing only in case, is fine.
        #expect(throws: Never.self) { try parse(#"{"a":{"id":1},"b":{"id":2},"id":3,"ID":4}"#) }
        // Other failures name no key.
        #expect((try? parse("{")) == nil)
        do { _ = try parse(#"{"a":[1,]}"#) } catch let failure as JSONParser.Failure { #expect(failure.duplicateField == nil) } catch {}
    }

    @Test func keepsWholeNumbersApartFromFractions() throws {
        #expect(try parse("7") == .integer(7))
        #expect(try parse("7.0") == .integer(7))
        #expect(try parse("7.5") == .number(7.5))
        #expect(try parse("true") == .bool(true))
    }
}
