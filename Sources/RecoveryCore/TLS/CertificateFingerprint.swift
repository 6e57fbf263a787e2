import Crypto
import Foundation

/// The SHA-256 digest of a certificate's DER bytes, written as colon-separated
/// upper-case hex pairs (as browsers and `openssl x509 -fingerprint` show it).
/// Desktop clients pin the appliance's certificate by it.
public struct CertificateFingerprint: Sendable, Equatable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(der: [UInt8]) {
        bytes = Array(SHA256.hash(data: der))
    }

    public var description: String {
        bytes.map { String(format: "%02X", $0) }.joined(separator: ":")
    }
}
