import Crypto
import Foundation
import NIOCore
import SwiftASN1
import X509

/// The appliance's own HTTPS certificate for the clinic's LAN: self-signed,
/// an ECDSA P-256 key, valid for the box's names and addresses. Desktop
/// clients pin its SHA-256 fingerprint (or trust the file) instead of a
/// public certificate authority vouching for it.
public struct LANCertificate: Sendable {
    /// Apple platforms refuse TLS server certificates valid for longer than 825 days.
    public static let lifetime: TimeInterval = 825 * 86_400

    public let certificatePEM: String
    public let privateKeyPEM: String
    public let fingerprint: CertificateFingerprint

    /// Who the certificate is for: DNS names and IP addresses (subject alternative names).
    public struct Names: Sendable, Equatable {
        public var dnsNames: [String]
        public var addresses: [IPAddress]

        public init(dnsNames: [String], addresses: [IPAddress]) {
            self.dnsNames = dnsNames
            self.addresses = addresses
        }

        /// This machine's names: its host name (and `<name>.local` for
        /// mDNS), `localhost`, its interface addresses except link-local ones,
        /// 127.0.0.1 and ::1, plus `extra` (names or addresses given by the
        /// operator, checked by `adding`).
        public static func ofThisHost(adding extra: [String] = []) throws -> Names {
            var names = Names(dnsNames: [], addresses: [])
            var buffer = [CChar](repeating: 0, count: 256)
            let host = gethostname(&buffer, buffer.count) == 0 ? String(cString: buffer).lowercased() : ""
            if let valid = try? validDNSName(host), valid != "localhost" {
                names.dnsNames.append(valid)
                if !valid.contains(".") { names.dnsNames.append(valid + ".local") }
            }
            names.dnsNames.append("localhost")
            names.addresses = [IPAddress("127.0.0.1")!, IPAddress("::1")!]
            let devices = (try? System.enumerateDevices()) ?? []
            for device in devices {
                if let text = device.address?.ipAddress, let address = IPAddress(text), !address.isLinkLocal {
                    names.addresses.append(address)
                }
            }
            try names.add(extra)
            return names
        }

        /// Adds operator-given names: an IP address literal, or a DNS name.
        public mutating func add(_ extra: [String]) throws {
            for entry in extra {
                let text = entry.trimmingCharacters(in: .whitespaces)
                if let address = IPAddress(text), !text.contains("%") {
                    addresses.append(address)
                } else {
                    dnsNames.append(try Self.validDNSName(text.lowercased()))
                }
            }
            dnsNames = dnsNames.reduce(into: []) { kept, name in if !kept.contains(name) { kept.append(name) } }
            addresses = addresses.reduce(into: []) { kept, address in if !kept.contains(address) { kept.append(address) } }
        }

        /// A host name of letters, digits and hyphens in dot-separated labels
        /// of 1-63 characters (253 at most); no wildcards.
        static func validDNSName(_ name: String) throws -> String {
            let labels = name.split(separator: ".", omittingEmptySubsequences: false)
            let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
            guard !name.isEmpty, name.count <= 253,
                  labels.allSatisfy({ (1...63).contains($0.count) && $0.allSatisfy(allowed.contains)
                                      && $0.first != "-" && $0.last != "-" }) else {
                throw ApplianceError.invalidInput(field: "--tls-name", reason: "\"\(name)\" is neither an IP address nor a host name (letters, digits, hyphens and dots)")
            }
            return name
        }
    }

    /// A new key pair and a certificate for `names`, valid from an hour
    /// before `now` (clocks on the LAN differ) for `lifetime`.
    public static func make(for names: Names, now: Date = Date()) throws -> LANCertificate {
        let key = P256.Signing.PrivateKey()
        let signingKey = Certificate.PrivateKey(key)
        let subject = try DistinguishedName {
            OrganizationName("Recovery Appliance")
            CommonName(names.dnsNames.first ?? "localhost")
        }
        let keyIdentifier = SubjectKeyIdentifier(hash: signingKey.publicKey)
        let alternativeNames = names.dnsNames.map { GeneralName.dnsName($0) }
            + names.addresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: $0.bytes[...])) }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames(alternativeNames)
            keyIdentifier
            AuthorityKeyIdentifier(keyIdentifier: keyIdentifier.keyIdentifier)
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: signingKey.publicKey,
            notValidBefore: now.addingTimeInterval(-3_600), notValidAfter: now.addingTimeInterval(lifetime),
            issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions, issuerPrivateKey: signingKey)
        let pem = try certificate.serializeAsPEM()
        return LANCertificate(certificatePEM: pem.pemString + "\n", privateKeyPEM: key.pemRepresentation + "\n",
                              fingerprint: CertificateFingerprint(der: pem.derBytes))
    }

    /// Writes the pair, both mode 0600 like everything in the data directory
    /// (the certificate is public; copy it out for clients). Never overwrites either file.
    public func save(certificateFile: String, keyFile: String) throws {
        try Self.writeNew(keyFile, privateKeyPEM, mode: 0o600)
        do {
            try Self.writeNew(certificateFile, certificatePEM, mode: 0o600)
        } catch {
            unlink(keyFile)
            throw error
        }
    }

    static func writeNew(_ path: String, _ text: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else {
            throw ApplianceError.tlsFileUnwritable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, bytes.count) }
        guard written == bytes.count, fchmod(fd, mode) == 0, fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(path)
            throw ApplianceError.tlsFileUnwritable(path: path, reason: reason)
        }
    }
}
