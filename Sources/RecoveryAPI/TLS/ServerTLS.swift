import Foundation
import NIOSSL
import RecoveryCore

/// The HTTPS set-up `serve` uses: the configured certificate chain and key,
/// TLS 1.2 or newer. Every problem is a `ConfigurationError` naming the
/// setting, so `serve` stops before it listens.
public enum ServerTLS {
    /// nil when `server.tls.cert_file` is empty (plain HTTP).
    public static func configuration(_ settings: Settings) throws -> TLSConfiguration? {
        guard let certificateFile = settings.resolvedTLSCertificateFile else { return nil }
        let keyFile = settings.resolvedTLSKeyFile
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            let hint = FileManager.default.fileExists(atPath: certificateFile)
                ? "is not a PEM certificate"
                : "does not exist; `recovery-server init --data-dir \(settings.dataDirectory)` creates the appliance's self-signed certificate"
            throw ConfigurationError(setting: "server.tls.cert_file", message: "\(certificateFile) \(hint)")
        }
        guard !chain.isEmpty else {
            throw ConfigurationError(setting: "server.tls.cert_file", message: "\(certificateFile) holds no certificate")
        }
        var info = stat()
        guard stat(keyFile, &info) == 0 else {
            throw ConfigurationError(setting: "server.tls.key_file", message: "\(keyFile) does not exist")
        }
        if info.st_mode & 0o077 != 0 {
            throw ConfigurationError(setting: "server.tls.key_file",
                                     message: "\(keyFile) is readable by other users (mode \(String(info.st_mode & 0o777, radix: 8))); `chmod 600` it")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw ConfigurationError(setting: "server.tls.key_file", message: "\(keyFile) is not an unencrypted PEM private key")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                     privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        do {
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConfigurationError(setting: "server.tls.key_file", message: "\(keyFile) is not the private key of \(certificateFile)")
        }
        return configuration
    }
}
