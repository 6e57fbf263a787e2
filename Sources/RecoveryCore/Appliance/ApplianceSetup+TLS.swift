import Foundation

extension ApplianceSetup {
    public enum CertificateOutcome: Sendable, Equatable {
        /// A new self-signed pair was written.
        case created(certificateFile: String, fingerprint: CertificateFingerprint, names: [String])
        /// Both files were there already; nothing was written.
        case existing(certificateFile: String, fingerprint: CertificateFingerprint)
        /// `server.tls.cert_file` is empty: the server is set to plain HTTP.
        case plainHTTP
    }

    /// For `init`: makes the appliance's self-signed LAN certificate at the
    /// configured paths unless a certificate and key are already there.
    /// Never overwrites; half a pair is an error.
    public static func ensureCertificate(settings: Settings, names: LANCertificate.Names) throws -> CertificateOutcome {
        guard let certificateFile = settings.resolvedTLSCertificateFile else { return .plainHTTP }
        let keyFile = settings.resolvedTLSKeyFile
        let haveCertificate = FileManager.default.fileExists(atPath: certificateFile)
        let haveKey = FileManager.default.fileExists(atPath: keyFile)
        switch (haveCertificate, haveKey) {
        case (true, true):
            return .existing(certificateFile: certificateFile, fingerprint: try CertificateSummary(pemFile: certificateFile).fingerprint)
        case (true, false):
            throw ApplianceError.tlsPairIncomplete(present: certificateFile, missing: keyFile)
        case (false, true):
            throw ApplianceError.tlsPairIncomplete(present: keyFile, missing: certificateFile)
        case (false, false):
            let made = try LANCertificate.make(for: names)
            try made.save(certificateFile: certificateFile, keyFile: keyFile)
            return .created(certificateFile: certificateFile, fingerprint: made.fingerprint,
                            names: names.dnsNames + names.addresses.map(\.description))
        }
    }
}
