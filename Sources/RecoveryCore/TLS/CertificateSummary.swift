import Foundation
import SwiftASN1
import X509

/// What an operator needs to know about a served certificate file: the first
/// (leaf) certificate's fingerprint, names and expiry.
public struct CertificateSummary: Sendable {
    public let fingerprint: CertificateFingerprint
    public let notValidAfter: Date
    public let names: [String]

    /// Reads the first certificate of a PEM file.
    public init(pemFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ApplianceError.tlsFileUnreadable(path: path, reason: "cannot read the file")
        }
        do {
            guard let document = try PEMDocument.parseMultiple(pemString: text).first(where: { $0.discriminator == "CERTIFICATE" }) else {
                throw ApplianceError.tlsFileUnreadable(path: path, reason: "no PEM CERTIFICATE block in it")
            }
            let certificate = try Certificate(derEncoded: document.derBytes)
            fingerprint = CertificateFingerprint(der: document.derBytes)
            notValidAfter = certificate.notValidAfter
            names = (try certificate.extensions.subjectAlternativeNames.map(Array.init) ?? []).compactMap { name in
                switch name {
                case .dnsName(let dns): return dns
                case .ipAddress(let octets): return IPAddress(bytes: Array(octets.bytes))?.description
                default: return nil
                }
            }
        } catch let error as ApplianceError {
            throw error
        } catch {
            throw ApplianceError.tlsFileUnreadable(path: path, reason: "not a PEM certificate (\(type(of: error)))")
        }
    }
}
