import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

/// The staff console's files: served from the binary with their content
/// types, a strict Content-Security-Policy and revalidation by ETag; the
/// shipped HTML carries no inline script or style.
@Suite struct ConsoleServingTests {
    static let consoleDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/RecoveryAPI/Console").standardized

    static func shippedFiles(_ suffix: String) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: consoleDirectory, includingPropertiesForKeys: nil)
            .filter { $0.lastPathComponent.hasSuffix(suffix) }
    }

    @Test func everyFileIsServedWithItsTypeAndTheConsolePolicy() async throws {
        let box = try await TestAppliance()
        let expected = [("/", "text/html"), ("/console/console.css", "text/css"), ("/console/app.js", "text/javascript"),
                        ("/console/realtime.js", "text/javascript"), ("/console/favicon.svg", "image/svg+xml")]
        try await box.test { client in
            for (path, type) in expected {
                let response = try await client.get(path)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType]?.hasPrefix(type) == true, "\(path): \(response.headers[.contentType] ?? "none")")
                let policy = response.headers[.contentSecurityPolicy] ?? ""
                #expect(policy.contains("default-src 'self'") && policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "\(path): \(policy)")
                #expect(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"))
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(response.headers[.cacheControl] == "no-cache")
                #expect(response.headers[.eTag]?.hasPrefix("\"") == true)
            }
            // The API keeps its own, stricter policy and no-store.
            let api = try await client.get("/api/v1/health")
            #expect(api.headers[.contentSecurityPolicy] == "default-src 'none'; frame-ancestors 'none'")
            #expect(api.headers[.cacheControl] == "no-store")
        }
    }

    @Test func theServerIdleLimitIsWrittenIntoThePage() async throws {
        let box = try await TestAppliance { $0.staffIdleTimeoutMinutes = 17 }
        try await box.test { client in
            let page = try await client.get("/").text
            #expect(page.contains("<meta name=\"recovery-staff-idle-minutes\" content=\"17\">"))
            #expect(!page.contains(ConsoleFiles.idleMinutesPlaceholder))
        }
    }

    @Test func aCurrentETagAnswers304AndAStaleOneTheFile() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let first = try await client.get("/console/app.js")
            let etag = try #require(first.headers[.eTag])
            var headers = HTTPFields()
            headers[.ifNoneMatch] = etag
            let again = try await client.execute(uri: "/console/app.js", method: .get, headers: headers)
            #expect(again.status == .notModified)
            #expect(again.body.readableBytes == 0)
            headers[.ifNoneMatch] = "\"0000\""
            let stale = try await client.execute(uri: "/console/app.js", method: .get, headers: headers)
            #expect(stale.status == .ok)
            #expect(stale.body == first.body)
        }
    }

    /// Every file the page names (its scripts, style sheet and icon) is served,
    /// so a browser's first load asks for nothing that answers 404.
    @Test func everyFileThePageNamesIsServed() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let page = try await client.get("/").text
            let named = page.components(separatedBy: "\"/console/").dropFirst().map { "/console/" + $0.prefix { $0 != "\"" } }
            #expect(named.contains("/console/favicon.svg") && named.contains("/console/app.js"), "\(named)")
            #expect(page.contains("<link rel=\"icon\" href=\"/console/favicon.svg\""))
            for path in named {
                #expect(try await client.get(path).status == .ok, "\(path)")
            }
        }
    }

    @Test func unknownConsolePathsAnswer404() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            for path in ["/console/nope.js", "/console/", "/console/../Package.swift", "/index.html", "/console/ConsoleFiles.swift"] {
                let response = try await client.get(path)
                #expect(response.status == .notFound, "\(path) answered \(response.status)")
            }
        }
    }

    @Test func everyShippedFileIsDeclaredAndServedByteForByte() async throws {
        let box = try await TestAppliance()
        let served = ConsoleFiles(settings: box.appliance.settings).files
        let shipped = try Self.shippedFiles(".js") + Self.shippedFiles(".css") + Self.shippedFiles(".svg")
        #expect(!shipped.isEmpty)
        try await box.test { client in
            for file in shipped {
                let path = "/console/" + file.lastPathComponent
                #expect(served.contains { $0.path == path }, "\(path) is in the Console folder but not served")
                let response = try await client.get(path)
                #expect(Array(response.body.readableBytesView) == Array(try Data(contentsOf: file)), "\(path)")
            }
        }
        #expect(served.count == shipped.count + 1) // and index.html at /
    }

    @Test func theShippedHTMLHasNoInlineScriptOrStyle() throws {
        let pages = try Self.shippedFiles(".html")
        #expect(!pages.isEmpty)
        for page in pages {
            let html = try String(contentsOf: page, encoding: .utf8)
            // Every script element loads a file; none carries code.
            let scripts = html.components(separatedBy: "<script").dropFirst()
            for script in scripts {
                let tag = script.prefix { $0 != ">" }
                #expect(tag.contains("src=\"/console/"), "\(page.lastPathComponent): a script without src")
                #expect(script.dropFirst(tag.count + 1).hasPrefix("</script>"), "\(page.lastPathComponent): code inside a script element")
            }
            #expect(html.range(of: #"\son[a-z]+\s*="#, options: .regularExpression) == nil, "\(page.lastPathComponent): an inline event handler")
            #expect(!html.contains("<style") && html.range(of: #"\sstyle\s*="#, options: .regularExpression) == nil,
                    "\(page.lastPathComponent): inline style")
            #expect(!html.contains("javascript:"))
        }
        // The icon is a picture only: no script, handler or link out.
        for icon in try Self.shippedFiles(".svg") {
            let svg = try String(contentsOf: icon, encoding: .utf8)
            #expect(!svg.contains("<script") && !svg.contains("href") && svg.range(of: #"\son[a-z]+\s*="#, options: .regularExpression) == nil,
                    "\(icon.lastPathComponent)")
        }
        // The scripts build pages from text nodes, never from HTML strings.
        for script in try Self.shippedFiles(".js") {
            let code = try String(contentsOf: script, encoding: .utf8)
            for forbidden in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                              "localStorage.", "sessionStorage.", "document.cookie", ".style."] {
                #expect(!code.contains(forbidden), "\(script.lastPathComponent) uses \(forbidden)")
            }
        }
    }

    @Test func theKeySlipQRCodeIsTheIssuedKeyAsSVG() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let token = try await client.staffToken()
            let created = try await client.post("/api/v1/patients", ["first_name": "Ada", "last_name": "Quill", "date_of_birth": "1990-04-02"], token: token)
            #expect(created.status == .created)
            let key = try #require(created.json["registration_key"] as? String)
            let svg = try #require(created.json["registration_key_qr_svg"] as? String)
            #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
            #expect(!svg.contains("<script") && !svg.contains("style="))
            #expect(svg == (try QRCodeSVG.svg(for: key, title: "Registration key QR code")))
            #expect(svg != (try QRCodeSVG.svg(for: "AAAA-BBBB-CCCC", title: "Registration key QR code")))

            let patientID = try #require((created.json["patient"] as? [String: Any])?["id"] as? String)
            let reissued = try await client.post("/api/v1/patients/\(patientID)/registration-key", [:], token: token)
            #expect(reissued.status == .created)
            let newKey = try #require(reissued.json["registration_key"] as? String)
            #expect(reissued.json["registration_key_qr_svg"] as? String == (try QRCodeSVG.svg(for: newKey, title: "Registration key QR code")))
            // Reading the patient back shows neither the key nor its code.
            let record = try await client.get("/api/v1/patients/\(patientID)", token: token).text
            #expect(!record.contains(newKey) && !record.contains("<svg"))
        }
    }
}
