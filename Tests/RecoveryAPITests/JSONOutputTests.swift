import Foundation
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

@Suite struct JSONOutputTests {
    @Test func writesJSONThatParsesBackToTheSameValues() throws {
        let tricky = "quote \" backslash \\ newline \n tab \t bell \u{07} émoji 🧘 </script>"
        var out = JSONOutput()
        out.object { o in
            o.field("text", tricky); o.field("none", nil as String?); o.field("count", 42); o.field("flag", false)
            o.key("list"); o.array { a in a.string("a"); a.string(tricky) }
            o.key("nested"); o.object { n in n.field("n", 1 as Int?) }
            o.key("rows"); o.array { a in a.object { r in r.field("r", 1 as Int?) }; a.object { _ in }; a.array { _ in } }
            o.field("after", true)
        }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.bytes)) as? [String: Any])
        #expect(object["text"] as? String == tricky)
        #expect(object["none"] is NSNull)
        #expect(object["count"] as? Int == 42 && object["flag"] as? Bool == false)
        #expect(object["list"] as? [String] == ["a", tricky])
        #expect((object["nested"] as? [String: Int]) == ["n": 1])
        #expect((object["rows"] as? [Any])?.count == 3 && object["after"] as? Bool == true)
    }

    @Test func auditJSONEscapesLikeAnEncoder() throws {
        let values = ["a\"b": "c\\d", "line": "x\ny"]
        let text = AuditLog.jsonObject(values)
        #expect(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] == values)
        #expect(try JSONSerialization.jsonObject(with: Data(AuditLog.jsonArray(["x", "y\"z"]).utf8)) as? [String] == ["x", "y\"z"])
    }
}
