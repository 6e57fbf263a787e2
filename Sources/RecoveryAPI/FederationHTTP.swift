import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RecoveryCore

/// The HTTP client a clinic reaches central with: a JSON POST with timeouts,
/// no cookies or caches. Central's identity is its pinned signing key: every
/// answer that moves the outbox carries a receipt checked against it.
public enum FederationHTTP {
    public static let transport: FederationTransport = { url, body in
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: 30)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("recovery-appliance/\(RecoveryVersion.current)", forHTTPHeaderField: "User-Agent")
        request.httpBody = body
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.timeoutIntervalForRequest = 30
        configuration.timeoutIntervalForResource = 60
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }
}
