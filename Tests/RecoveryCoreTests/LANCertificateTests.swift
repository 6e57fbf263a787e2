import Crypto
import Foundation
import SwiftASN1
import Testing
import X509
@testable import RecoveryCore

@Suite struct LANCertificateTests {
    static let names = LANCertificate.Names(dnsNames: ["recovery-box", "recovery-box.local", "localhost"],
                                            addresses: [IPAddress("127.0.0.1")!, IPAddress("::1")!, IPAddress("192.168.10.20")!])

    func settings(_ dir: TemporaryDirectory) -> Settings {
        var settings = Settings()
        settings.dataDirectory = dir.path
        return settings
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    @Test func theCertificateIsASelfSignedP256ServerCertificateForTheNames() throws {
        let now = Date()
        let made = try LANCertificate.make(for: Self.names, now: now)
        let certificate = try Certificate(pemEncoded: made.certificatePEM)

        #expect(P256.Signing.PublicKey(certificate.publicKey) != nil, "the key is ECDSA P-256")
        #expect(certificate.signatureAlgorithm == .ecdsaWithSHA256)
        #expect(certificate.issuer == certificate.subject)
        #expect(certificate.publicKey.isValidSignature(certificate.signature, for: certificate), "self-signed")

        let alternativeNames = try #require(try certificate.extensions.subjectAlternativeNames)
        #expect(Array(alternativeNames) == [.dnsName("recovery-box"), .dnsName("recovery-box.local"), .dnsName("localhost"),
                                            .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                                            .ipAddress(ASN1OctetString(contentBytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
                                            .ipAddress(ASN1OctetString(contentBytes: [192, 168, 10, 20]))])
        #expect(try certificate.extensions.basicConstraints == .notCertificateAuthority)
        #expect(try certificate.extensions.extendedKeyUsage.map(Array.init) == [.serverAuth])
        #expect(try certificate.extensions.keyUsage?.digitalSignature == true)

        // Valid now (with an hour's slack for clocks behind the box's) and for 825 days.
        #expect(certificate.notValidBefore <= now.addingTimeInterval(-3_599) && certificate.notValidBefore >= now.addingTimeInterval(-3_601))
        #expect(abs(certificate.notValidAfter.timeIntervalSince(now) - 825 * 86_400) < 2)

        // The key file holds the private half of the certificate's key.
        let key = try P256.Signing.PrivateKey(pemRepresentation: made.privateKeyPEM)
        #expect(Certificate.PublicKey(key.publicKey) == certificate.publicKey)

        // The fingerprint is SHA-256 over the DER bytes.
        let der = try PEMDocument(pemString: made.certificatePEM).derBytes
        #expect(made.fingerprint.bytes == Array(SHA256.hash(data: der)))
        #expect(made.fingerprint.description.count == 32 * 3 - 1)
        #expect(made.fingerprint.description.allSatisfy { "0123456789ABCDEF:".contains($0) })
    }

    @Test func twoCertificatesNeverShareAKey() throws {
        let first = try LANCertificate.make(for: Self.names)
        let second = try LANCertificate.make(for: Self.names)
        #expect(first.privateKeyPEM != second.privateKeyPEM)
        #expect(first.fingerprint != second.fingerprint)
    }

    @Test func thisHostsNamesCoverLoopbackAndTheOperatorsExtras() throws {
        let names = try LANCertificate.Names.ofThisHost(adding: ["records.harborlight.org", "10.1.2.3", "LOCALHOST"])
        #expect(names.dnsNames.contains("localhost") && names.dnsNames.contains("records.harborlight.org"))
        #expect(names.dnsNames.filter { $0 == "localhost" }.count == 1)
        #expect(names.addresses.contains(IPAddress("127.0.0.1")!) && names.addresses.contains(IPAddress("::1")!))
        #expect(names.addresses.contains(IPAddress("10.1.2.3")!))
        #expect(!names.addresses.contains { $0.isLinkLocal })
        for bad in ["*.clinic.org", "under_score.lan", "-lead.lan", "two..dots", "", String(repeating: "a", count: 64) + ".lan"] {
            #expect(throws: ApplianceError.self) { try LANCertificate.Names.ofThisHost(adding: [bad]) }
        }
    }

    @Test func initWritesThePairPrivatelyAndNeverOverwritesIt() throws {
        let dir = TemporaryDirectory()
        let settings = settings(dir)
        let outcome = try ApplianceSetup.ensureCertificate(settings: settings, names: Self.names)
        guard case .created(let file, let fingerprint, let names) = outcome else {
            Issue.record("expected a new certificate, got \(outcome)")
            return
        }
        #expect(file == dir.path + "/tls-cert.pem" && settings.resolvedTLSKeyFile == dir.path + "/tls-key.pem")
        #expect(names.contains("192.168.10.20") && names.contains("recovery-box"))
        #expect(try mode(settings.resolvedTLSKeyFile) == 0o600)
        #expect(try mode(file) == 0o600)
        #expect(try CertificateSummary(pemFile: file).fingerprint == fingerprint)

        let certificateBefore = try Data(contentsOf: URL(fileURLWithPath: file))
        let keyBefore = try Data(contentsOf: URL(fileURLWithPath: settings.resolvedTLSKeyFile))
        #expect(try ApplianceSetup.ensureCertificate(settings: settings, names: Self.names) == .existing(certificateFile: file, fingerprint: fingerprint))
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == certificateBefore)
        #expect(try Data(contentsOf: URL(fileURLWithPath: settings.resolvedTLSKeyFile)) == keyBefore)

        // Half a pair is refused, not completed with a key that does not fit.
        try FileManager.default.removeItem(atPath: settings.resolvedTLSKeyFile)
        #expect(throws: ApplianceError.tlsPairIncomplete(present: file, missing: settings.resolvedTLSKeyFile)) {
            try ApplianceSetup.ensureCertificate(settings: settings, names: Self.names)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == certificateBefore)
        #expect(!FileManager.default.fileExists(atPath: settings.resolvedTLSKeyFile))
    }

    @Test func theConfiguredPathsAreUsedAndAnEmptyCertificateMeansPlainHTTP() throws {
        let dir = TemporaryDirectory()
        var settings = settings(dir)
        try FileManager.default.createDirectory(atPath: dir.file("own"), withIntermediateDirectories: true)
        settings.tlsCertificateFile = "own/cert.pem"
        settings.tlsKeyFile = dir.file("own/key.pem")
        #expect(settings.resolvedTLSCertificateFile == dir.file("own/cert.pem"))
        guard case .created = try ApplianceSetup.ensureCertificate(settings: settings, names: Self.names) else {
            Issue.record("expected a new certificate")
            return
        }
        #expect(FileManager.default.fileExists(atPath: dir.file("own/key.pem")))

        settings.tlsCertificateFile = ""
        #expect(settings.resolvedTLSCertificateFile == nil)
        #expect(try ApplianceSetup.ensureCertificate(settings: settings, names: Self.names) == .plainHTTP)
    }
}
