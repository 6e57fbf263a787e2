import ArgumentParser
import Foundation
import Logging
import RecoveryAPI
import RecoveryCore

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the API server until stopped (SIGTERM or Ctrl-C shut it down cleanly).",
        discussion: """
        Listens on server.host:server.port (default 127.0.0.1:3000) with HTTPS, using the \
        certificate and key that init made in the data directory (settings server.tls.cert_file \
        and server.tls.key_file). To serve the clinic's LAN, set --host 0.0.0.0 (or the box's \
        LAN address). Plain HTTP (server.tls.cert_file set to "") is refused on any address \
        but loopback unless server.allow_plain_http is true. Pending migrations are applied \
        at start-up. The server refuses to start without its master key, with another box's \
        key, on a database whose init never finished, on a database newer than itself, or \
        when the audit head file (audit.head) is altered or names an audit entry the database \
        no longer holds.

        --demo: try it out with no setup. Uses a throw-away data directory (default \
        $TMPDIR/recovery-appliance-demo, or --data-dir), initialises and seeds it with the \
        demo data if it is empty, then serves plain HTTP.
        """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Address to listen on (setting server.host).")
    var host: String?

    @Option(help: "Port to listen on (setting server.port).")
    var port: Int?

    @Flag(help: "Serve a throw-away demo appliance, creating and seeding it if needed.")
    var demo = false

    func run() async throws {
        restrictNewFiles()
        try await explained {
            let demoDirectory = demo ? FileManager.default.temporaryDirectory.appendingPathComponent("recovery-appliance-demo").path : nil
            var settings = try common.settings(defaultDataDirectory: demoDirectory)
            if let host { settings.serverHost = host }
            if let port {
                guard (1...65_535).contains(port) else { throw Failure(message: "--port must be from 1 to 65535", code: 64) }
                settings.serverPort = port
            }
            if demo { settings.tlsCertificateFile = "" }
            let tls = try configured {
                try SettingsLoader.validateListening(settings)
                return try ServerTLS.configuration(settings)
            }
            let logger = makeLogger(settings)
            ApplianceMetrics.bootstrap()
            if demo, try await ApplianceSetup.prepareDemo(settings: settings) {
                logger.notice("created demo appliance", metadata: ["data_dir": .string(settings.dataDirectory)])
            }
            let (appliance, applied) = try Appliance.open(settings: settings)
            for identifier in applied {
                logger.notice("applied migration", metadata: ["migration": .string(identifier)])
            }
            if let seq = appliance.auditHeadCreatedAt {
                logger.notice("there was no audit head file (\(AuditAnchor.fileName)); wrote one from the newest audit entry. Expected once after upgrading from a version without it; otherwise the file was removed.",
                              metadata: ["from_seq": .stringConvertible(seq)])
            }
            for email in try await DemoData.accountsWithDocumentedPasswords(appliance) {
                logger.warning("SECURITY: the demo account \(email) still has its publicly documented password. Change it or deactivate the account before real patient data goes on this box.")
            }
            var serving: Logger.Metadata = [
                "address": .string("\(settings.serverHost):\(settings.serverPort)"),
                "data_dir": .string(settings.dataDirectory),
                "mode": .string(settings.mode.rawValue),
                "version": .string(RecoveryVersion.current),
                "scheme": .string(tls == nil ? "http" : "https"),
            ]
            if let certificateFile = settings.resolvedTLSCertificateFile,
               let certificate = try? CertificateSummary(pemFile: certificateFile) {
                serving["certificate_sha256"] = .string(certificate.fingerprint.description)
                serving["certificate_expires"] = .string(Timestamp.string(certificate.notValidAfter))
                if certificate.notValidAfter < Date().addingTimeInterval(30 * 86_400) {
                    logger.warning("the TLS certificate \(certificateFile) expires on \(Timestamp.string(certificate.notValidAfter)); replace it before then (see README.md, HTTPS)")
                }
            }
            logger.notice("serving", metadata: serving)
            do {
                try await ApplianceServer.run(appliance, tls: tls, logger: logger)
            } catch {
                let text = String(describing: error)
                if text.contains("Address already in use") {
                    throw Failure(message: "cannot listen on \(settings.serverHost):\(settings.serverPort): the address is already in use (another server running?)")
                }
                throw Failure(message: "the server stopped: \(text)")
            }
            logger.notice("stopped")
        }
    }

    func makeLogger(_ settings: Settings) -> Logger {
        let level = Logger.Level(rawValue: settings.logLevel.rawValue) ?? .info
        let format = settings.logFormat
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = format == .json
                ? JSONLogHandler(label: label)
                : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "recovery-server")
        logger.logLevel = level
        return logger
    }
}
