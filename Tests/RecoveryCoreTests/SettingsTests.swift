import Foundation
import Testing
@testable import RecoveryCore

@Suite struct SettingsTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theShippedConfigFileHoldsExactlyTheDefaults() throws {
        let file = Self.repositoryRoot.appendingPathComponent("config/recovery.json").path
        let loaded = try SettingsLoader.load(file: file, environment: [:])
        #expect(loaded == Settings())
        let keys = Set(try SettingsLoader.readFile(file).keys)
        #expect(keys == Set(SettingDescriptor.all.map(\.key)), "config/recovery.json must document every setting")
    }

    @Test func everySettingIsDocumentedInTheReadme() throws {
        let readme = try String(contentsOf: Self.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        for descriptor in SettingDescriptor.all {
            #expect(readme.contains("`\(descriptor.key)`"), "README.md lacks \(descriptor.key)")
            #expect(readme.contains(descriptor.environmentName), "README.md lacks \(descriptor.environmentName)")
        }
    }

    @Test func environmentOverridesTheFile() throws {
        let dir = TemporaryDirectory()
        let file = dir.file("c.json")
        try #"{"server": {"port": 4000, "host": "0.0.0.0"}, "mode": "clinic"}"#.write(toFile: file, atomically: true, encoding: .utf8)
        let settings = try SettingsLoader.load(file: file, environment: [
            "RECOVERY_SERVER_PORT": "5000", "RECOVERY_MODE": "central",
            "RECOVERY_SERVER_CORS_ORIGINS": "http://10.0.0.5:8080, http://desk.local", "UNRELATED": "x",
        ])
        #expect(settings.serverPort == 5000)
        #expect(settings.serverHost == "0.0.0.0")
        #expect(settings.mode == .central)
        #expect(settings.corsOrigins == ["http://10.0.0.5:8080", "http://desk.local"])
    }

    @Test(arguments: [
        (["RECOVERY_SERVER_PORT": "abc"], "server.port"),
        (["RECOVERY_SERVER_PORT": "70000"], "server.port"),
        (["RECOVERY_MODE": "hospital"], "mode"),
        (["RECOVERY_DATABASE_SYNCHRONOUS": "off"], "database.synchronous"),
        (["RECOVERY_AUTH_PASSWORD_MIN_LENGTH": "4"], "auth.password_min_length"),
        (["RECOVERY_DATA_DIR": "  "], "data_dir"),
        (["RECOVERY_SERVER_PROT": "3000"], "RECOVERY_SERVER_PROT"),
        (["RECOVERY_FEDERATION_NOISE_EPSILON": "1e-17"], "federation.noise_epsilon"),
        (["RECOVERY_FEDERATION_NOISE_EPSILON": "-1"], "federation.noise_epsilon"),
    ])
    func badEnvironmentValuesNameTheSetting(environment: [String: String], setting: String) {
        #expect(throws: ConfigurationError.self) { try SettingsLoader.load(file: nil, environment: environment) }
        do { _ = try SettingsLoader.load(file: nil, environment: environment) } catch let error as ConfigurationError {
            #expect(error.setting == setting)
        } catch {}
    }

    @Test(arguments: [
        (#"{"sever": {"port": 1}}"#, "sever.port"),
        (#"{"server": {"port": "3000"}}"#, "server.port"),
        (#"{"server": {"port": 3000.5}}"#, "server.port"),
        (#"{"server": {"cors_origins": "http://a"}}"#, "server.cors_origins"),
        (#"{"log": {"level": true}}"#, "log.level"),
        (#"[1, 2]"#, "config file"),
        (#"{"mode": "#, "config file"),
    ])
    func badFileValuesNameTheSetting(json: String, setting: String) throws {
        let dir = TemporaryDirectory()
        let file = dir.file("c.json")
        try json.write(toFile: file, atomically: true, encoding: .utf8)
        do {
            _ = try SettingsLoader.load(file: file, environment: [:])
            Issue.record("expected a configuration error")
        } catch let error as ConfigurationError {
            #expect(error.setting == setting)
        }
    }

    /// 0 turns the noise off; otherwise an epsilon from 0.01 (a smaller one cannot be drawn with).
    @Test func theNoiseEpsilonIsOffOrAtLeastAHundredth() throws {
        #expect(try SettingsLoader.load(file: nil, environment: ["RECOVERY_FEDERATION_NOISE_EPSILON": "0"]).federationNoiseEpsilon == 0)
        #expect(try SettingsLoader.load(file: nil, environment: ["RECOVERY_FEDERATION_NOISE_EPSILON": "0.01"]).federationNoiseEpsilon == 0.01)
    }

    @Test func keyFileDefaultsBesideTheData() {
        var settings = Settings()
        settings.dataDirectory = "/srv/recovery"
        #expect(settings.resolvedKeyFile == "/srv/recovery/master.key")
        settings.keyFile = "/mnt/keys/clinic.key"
        #expect(settings.resolvedKeyFile == "/mnt/keys/clinic.key")
    }
}

@Suite struct ListeningTests {
    func settings(host: String, certificate: String = "tls-cert.pem", allowPlain: Bool = false) -> Settings {
        var settings = Settings()
        settings.serverHost = host
        settings.tlsCertificateFile = certificate
        settings.allowPlainHTTP = allowPlain
        return settings
    }

    @Test func plainHTTPIsRefusedBeyondLoopbackUnlessAllowed() throws {
        #expect(throws: ConfigurationError.self) { try SettingsLoader.validateListening(settings(host: "0.0.0.0", certificate: "")) }
        #expect(throws: ConfigurationError.self) { try SettingsLoader.validateListening(settings(host: "192.168.1.20", certificate: "")) }
        #expect(throws: ConfigurationError.self) { try SettingsLoader.validateListening(settings(host: "::", certificate: "")) }
        #expect(throws: ConfigurationError.self) { try SettingsLoader.validateListening(settings(host: "box.lan", certificate: "")) }
        do {
            try SettingsLoader.validateListening(settings(host: "0.0.0.0", certificate: ""))
        } catch let error as ConfigurationError {
            #expect(error.setting == "server.tls.cert_file")
            #expect(error.message.contains("plain HTTP") && error.message.contains("server.allow_plain_http"))
        }
        for host in ["127.0.0.1", "127.0.0.2", "::1", "localhost"] {
            try SettingsLoader.validateListening(settings(host: host, certificate: ""))
        }
        try SettingsLoader.validateListening(settings(host: "0.0.0.0", certificate: "", allowPlain: true))
        try SettingsLoader.validateListening(settings(host: "0.0.0.0"))
    }

    @Test func theTLSSettingsReadFromTheEnvironment() throws {
        let settings = try SettingsLoader.load(file: nil, environment: [
            "RECOVERY_SERVER_TLS_CERT_FILE": "/etc/clinic/cert.pem", "RECOVERY_SERVER_TLS_KEY_FILE": "clinic.key",
            "RECOVERY_SERVER_ALLOW_PLAIN_HTTP": "TRUE", "RECOVERY_DATA_DIR": "/srv/recovery",
        ])
        #expect(settings.resolvedTLSCertificateFile == "/etc/clinic/cert.pem")
        #expect(settings.resolvedTLSKeyFile == "/srv/recovery/clinic.key")
        #expect(settings.allowPlainHTTP)
        #expect(throws: ConfigurationError(setting: "server.allow_plain_http", message: "must be true or false")) {
            try SettingsLoader.load(file: nil, environment: ["RECOVERY_SERVER_ALLOW_PLAIN_HTTP": "yes"])
        }
        #expect(throws: ConfigurationError.self) {
            try SettingsLoader.load(file: nil, environment: ["RECOVERY_SERVER_TLS_KEY_FILE": ""])
        }
    }
}
