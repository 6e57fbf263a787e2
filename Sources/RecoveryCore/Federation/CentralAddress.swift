import Foundation

/// Where a clinic reaches central. HTTPS always; plain http:// only to a
/// loopback address (tests, a TLS proxy on the same box) unless
/// `federation.allow_plain_http` (or the enrol command's flag) allows it.
public enum CentralAddress {
    public static func validate(_ text: String, allowPlainHTTP: Bool) throws -> URL {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let url = URL(string: trimmed.hasSuffix("/") ? String(trimmed.dropLast()) : trimmed),
              let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty,
              url.query == nil, url.fragment == nil, url.user == nil else {
            throw FederationError.invalid(field: "central", issue: "must be an https:// URL like https://central.example.org")
        }
        switch scheme {
        case "https": return url
        case "http":
            guard allowPlainHTTP || isLoopback(host) else { throw FederationError.plainHTTPRefused }
            return url
        default:
            throw FederationError.invalid(field: "central", issue: "must be an https:// URL like https://central.example.org")
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if bare == "localhost" || bare == "::1" { return true }
        let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}

/// Sends one request body to central and answers the status and body: the
/// HTTP client lives outside the core (RecoveryAPI), so the core stays free of HTTP.
public typealias FederationTransport = @Sendable (_ url: URL, _ body: Data) async throws -> (status: Int, body: Data)
