import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address as its bytes (4 or 16). Client addresses are kept
/// in this one canonical form, so that two spellings of one address share a
/// login-throttle count and read the same in audit entries.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6. An IPv4-mapped IPv6 address
    /// (`::ffff:192.0.2.1`, as a dual-stack socket reports IPv4 peers) is stored as IPv4.
    public let bytes: [UInt8]

    public var isIPv4: Bool { bytes.count == 4 }

    /// Parses a literal address (`192.0.2.1`, `2001:db8::1`); a zone suffix
    /// (`fe80::1%eth0`) is dropped. Anything else is nil: no host names.
    public init?(_ text: some StringProtocol) {
        var literal = String(text)
        if let zone = literal.firstIndex(of: "%") { literal = String(literal[..<zone]) }
        if !literal.contains(":") {
            var address = in_addr()
            guard inet_pton(AF_INET, literal, &address) == 1 else { return nil }
            bytes = withUnsafeBytes(of: &address) { Array($0) }
        } else {
            var address = in6_addr()
            guard inet_pton(AF_INET6, literal, &address) == 1 else { return nil }
            let raw = withUnsafeBytes(of: &address) { Array($0) }
            bytes = raw[0..<10].allSatisfy { $0 == 0 } && raw[10] == 0xff && raw[11] == 0xff ? Array(raw[12...]) : raw
        }
    }

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// One entry of an `X-Forwarded-For` header: an address, optionally with
    /// a port (`192.0.2.1:5000`, `[2001:db8::1]:443`) or in brackets.
    public init?(forwardedHop hop: some StringProtocol) {
        let text = hop.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            self.init(text[text.index(after: text.startIndex)..<close])
        } else if text.contains("."), let colon = text.firstIndex(of: ":"), text.filter({ $0 == ":" }).count == 1 {
            self.init(text[..<colon])
        } else {
            self.init(text)
        }
    }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        isIPv4 ? bytes[0] == 127 : bytes == [UInt8](repeating: 0, count: 15) + [1]
    }

    /// fe80::/10, whose addresses only mean something with an interface.
    public var isLinkLocal: Bool {
        isIPv4 ? (bytes[0] == 169 && bytes[1] == 254) : (bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80)
    }

    /// The canonical text form (`inet_ntop`): `192.0.2.1`, `2001:db8::1`.
    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = isIPv4 ? AF_INET : AF_INET6
        let text = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count))
        }
        precondition(text != nil, "inet_ntop failed on a 4- or 16-byte address")
        return String(cString: buffer)
    }
}
