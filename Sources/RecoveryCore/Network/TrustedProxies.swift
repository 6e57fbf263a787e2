import Foundation

/// Which client a request came from when reverse proxies sit in front of
/// the server (`server.trusted_proxies`). `X-Forwarded-For` is believed only
/// when the direct peer is a trusted proxy; the header is then walked from
/// the right, past trusted proxies, to the first address that is not one.
/// From any other peer the header is ignored, so a client cannot choose the
/// address its login failures count against or its audit entries record.
public struct TrustedProxies: Sendable, Equatable {
    public let networks: [IPNetwork]

    public init(_ networks: [IPNetwork]) {
        self.networks = networks
    }

    public func trusts(_ address: IPAddress) -> Bool {
        networks.contains { $0.contains(address) }
    }

    /// The client's address: the peer's own unless the peer is a trusted
    /// proxy. `forwardedFor` holds the `X-Forwarded-For` header lines in
    /// order. An entry that is not an address ends the walk at the nearest
    /// trusted hop, which is the last address the chain vouches for.
    public func clientAddress(peer: IPAddress?, forwardedFor: [String]) -> IPAddress? {
        guard let peer, trusts(peer), !forwardedFor.isEmpty else { return peer }
        var nearest = peer
        for hop in forwardedFor.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }).reversed() {
            guard let address = IPAddress(forwardedHop: hop) else { return nearest }
            if !trusts(address) { return address }
            nearest = address
        }
        return nearest
    }
}
