import ArgumentParser
import Foundation
import RecoveryCore

struct TLSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tls",
        abstract: "Work with the HTTPS certificate.",
        subcommands: [Fingerprint.self])

    struct Fingerprint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the SHA-256 fingerprint of the certificate serve uses.",
            discussion: """
            Reads server.tls.cert_file (default tls-cert.pem in the data directory) and prints \
            the SHA-256 fingerprint of its first certificate, as the desktop apps pin it, then \
            the names it is for and when it expires. Changes nothing.
            """)

        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await explained {
                let settings = try common.settings()
                guard let file = settings.resolvedTLSCertificateFile else {
                    throw Failure(message: "server.tls.cert_file is empty: this appliance is set to serve plain HTTP", code: 78)
                }
                let summary = try CertificateSummary(pemFile: file)
                print(summary.fingerprint)
                print("certificate: \(file)")
                print("names: \(summary.names.joined(separator: ", "))")
                print("expires: \(Timestamp.string(summary.notValidAfter))")
            }
        }
    }
}
