import Foundation
import Testing

/// The access policy is the only place that decides by role: these read the
/// sources and fail on a role comparison, a route naming roles instead of a
/// permission, or a facility id handed from the API to the core without the
/// caller's identity.
@Suite struct PolicyBoundaryTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// (path relative to the root, line number, line without its comment) of every Swift source under `folder`.
    static func lines(under folder: String) throws -> [(path: String, number: Int, text: String)] {
        let base = root.appendingPathComponent(folder)
        let files = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        #expect(files.count > 20, "found the sources under \(base.path)")
        return try files.flatMap { file -> [(String, Int, String)] in
            let path = String(file.path.dropFirst(root.path.count + 1))
            return try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { index, line in
                let code = line.range(of: "//").map { String(line[..<$0.lowerBound]) } ?? String(line)
                return (path, index + 1, code)
            }
        }
    }

    /// Comparisons with a role's value. (`.staff` alone is also a kind of
    /// identity, so only a role compared with it counts.)
    static let roleComparisons: [String] = [
        #"(==|!=)\s*\.(superAdmin|admin|counselor|therapist|nurse)\b"#,         // x == .admin
        #"\.(superAdmin|admin|counselor|therapist|nurse|staff)\s*(==|!=)\s*[\w.]*role\b"#,  // .admin == role
        #"(^|\W)role\s*(==|!=)\s*\.staff\b"#,                                    // role == .staff
        #"\]\s*\.contains\(\s*[\w.]*role\s*\)"#,                                 // [.counselor, ...].contains(role)
        #"case\s+\.(superAdmin|admin|counselor|therapist|nurse)\b"#,             // switch role { case .admin: ... }
        #"role\s*(=|<>|!=|IN)\s*\(?\s*'(super_admin|admin|counselor|therapist|nurse|staff)'"#,  // SQL
        #"\.staff\(\["#,                                                         // a route naming roles
    ]

    @Test func noRoleComparisonOutsideThePolicy() throws {
        let patterns = try Self.roleComparisons.map { try Regex($0) }
        var offenders: [String] = []
        for line in try Self.lines(under: "Sources") where !line.path.hasPrefix("Sources/RecoveryCore/Access/") {
            if patterns.contains(where: { line.text.contains($0) }) { offenders.append("\(line.path):\(line.number): \(line.text)") }
        }
        #expect(offenders.isEmpty, "decisions by role belong in Sources/RecoveryCore/Access:\n\(offenders.joined(separator: "\n"))")
    }

    /// The patterns do find what they are for (so the test above can fail).
    @Test func thePatternsCatchRoleComparisons() throws {
        let patterns = try Self.roleComparisons.map { try Regex($0) }
        for sample in ["if identity.role == .superAdmin {", "guard account.role != .admin", "[.counselor, .nurse].contains(staff.role)",
                       "case .therapist: return true", "sql += \" AND role <> 'super_admin'\"", "access: .staff([.admin, .superAdmin])",
                       "if .admin == role {", "guard account.role == .staff else"] {
            #expect(patterns.contains { sample.contains($0) }, "not caught: \(sample)")
        }
        for sample in ["case .staff: return 1", "role: .admin, email: x", "WHERE role = 'primary_counselor'", "access: .staff(.auditRead)",
                       "kind == .staff ? a : b", "if role == nil {"] {
            #expect(!patterns.contains { sample.contains($0) }, "caught wrongly: \(sample)")
        }
    }

    /// A facility id the API hands to the core travels with the caller's
    /// identity, from which the policy decides; there is no core call taking
    /// a bare facility id from a request.
    @Test func noBareFacilityIDCrossesIntoTheCore() throws {
        let lines = try Self.lines(under: "Sources/RecoveryAPI")
        var offenders: [String] = []
        for (index, line) in lines.enumerated() where line.text.contains("facilityID:") && !line.text.contains("AuditEvent(") {
            let statement = (index > 0 && lines[index - 1].path == line.path ? lines[index - 1].text : "") + line.text
            if !statement.contains("identity") { offenders.append("\(line.path):\(line.number): \(line.text)") }
        }
        #expect(offenders.isEmpty, "pass the identity with the facility id:\n\(offenders.joined(separator: "\n"))")
    }
}
