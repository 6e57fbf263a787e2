import Foundation

/// An address block in CIDR form (`10.0.0.0/8`, `2001:db8::/32`), or one
/// address (a /32 or /128). Used for `server.trusted_proxies`.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case notAnAddress(String)
        case badPrefix(String)
        case hostBitsSet(String, network: String)

        public var description: String {
            switch self {
            case .notAnAddress(let text): return "\"\(text)\" is not an IPv4 or IPv6 address or CIDR block"
            case .badPrefix(let text): return "\"\(text)\" has a prefix length out of range (0-32 for IPv4, 0-128 for IPv6)"
            case .hostBitsSet(let text, let network):
                return "\"\(text)\" has address bits set beyond its prefix; write the block as \(network) or the single address without a prefix"
            }
        }
    }

    /// Parses `address` or `address/prefix`. A block whose address has bits
    /// set past the prefix (`192.168.1.10/24`) is refused: it is probably a typo.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parts[0]), !parts[0].contains("%") else {
            throw ParseError.notAnAddress(trimmed)
        }
        let maximum = address.bytes.count * 8
        var prefix = maximum
        if parts.count == 2 {
            guard parts[1].allSatisfy(\.isASCII), let value = Int(parts[1]), (0...maximum).contains(value) else {
                throw ParseError.badPrefix(trimmed)
            }
            prefix = value
        }
        let network = IPNetwork(masking: address, prefixLength: prefix)
        guard network.address == address else {
            throw ParseError.hostBitsSet(trimmed, network: network.description)
        }
        self = network
    }

    /// The block of `prefixLength` bits that holds `address`.
    public init(masking address: IPAddress, prefixLength: Int) {
        self.prefixLength = prefixLength
        self.address = IPAddress(bytes: Self.mask(address.bytes, prefixLength))!
    }

    public func contains(_ other: IPAddress) -> Bool {
        other.bytes.count == address.bytes.count && Self.mask(other.bytes, prefixLength) == address.bytes
    }

    public var description: String {
        prefixLength == address.bytes.count * 8 ? address.description : "\(address)/\(prefixLength)"
    }

    static func mask(_ bytes: [UInt8], _ prefixLength: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bits = min(max(prefixLength - index * 8, 0), 8)
            return bits == 8 ? byte : byte & ~(UInt8(0xff) >> bits)
        }
    }
}
