import Foundation

/// A configuration value that cannot be used; start-up stops with this message.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let setting: String
    public let message: String
    public var description: String { "configuration error in \(setting): \(message)" }

    public init(setting: String, message: String) {
        self.setting = setting
        self.message = message
    }
}

/// Builds `Settings` from, in rising precedence: built-in defaults, a JSON
/// file, `RECOVERY_*` environment variables, command-line flags (applied by
/// the caller afterwards). Unlike a lenient reader it rejects unknown keys and
/// wrongly typed values and names the setting, so a typo in a security
/// setting never silently falls back to its default.
public enum SettingsLoader {
    public static func load(file: String?, environment: [String: String]) throws -> Settings {
        var settings = Settings()
        if let file {
            let values = try readFile(file)
            let known = Set(SettingDescriptor.all.map(\.key))
            for key in values.keys.sorted() where !known.contains(key) {
                throw ConfigurationError(setting: key, message: "unknown setting in \(file)")
            }
            for descriptor in SettingDescriptor.all {
                if let value = values[descriptor.key] {
                    try descriptor.apply(.json(value), &settings)
                }
            }
        }
        let knownVariables = Set(SettingDescriptor.all.map(\.environmentName) + ["RECOVERY_CONFIG"])
        for name in environment.keys.sorted() where name.hasPrefix("RECOVERY_") && !knownVariables.contains(name) {
            throw ConfigurationError(setting: name, message: "unknown environment variable (typo?); see README.md for the settings")
        }
        for descriptor in SettingDescriptor.all {
            if let value = environment[descriptor.environmentName] {
                try descriptor.apply(.text(value), &settings)
            }
        }
        try validate(settings)
        return settings
    }

    /// Checks that span settings (each setting's own range is checked on read).
    public static func validate(_ settings: Settings) throws {
        if settings.passwordMaxLength < settings.passwordMinLength {
            throw ConfigurationError(setting: "auth.password_max_length",
                                     message: "must be at least auth.password_min_length (\(settings.passwordMinLength))")
        }
        if settings.federationNoiseEpsilon > 0 && settings.federationNoiseBudget < settings.federationNoiseEpsilon {
            throw ConfigurationError(setting: "federation.noise_budget",
                                     message: "must be at least federation.noise_epsilon (\(settings.federationNoiseEpsilon)), the cost of one draw")
        }
        if settings.dataDirectory.isEmpty {
            throw ConfigurationError(setting: "data_dir", message: "must not be empty")
        }
        if !settings.tlsCertificateFile.isEmpty && settings.tlsKeyFile.isEmpty {
            throw ConfigurationError(setting: "server.tls.key_file", message: "must name the private key of server.tls.cert_file")
        }
    }

    /// For `serve`, once the listen address is final: plain HTTP is refused
    /// on any address but loopback, where tokens and PHI would cross the
    /// network in clear, unless `server.allow_plain_http` says so.
    public static func validateListening(_ settings: Settings) throws {
        guard settings.resolvedTLSCertificateFile == nil, !settings.allowPlainHTTP else { return }
        let host = settings.serverHost
        if host.lowercased() == "localhost" || IPAddress(host)?.isLoopback == true { return }
        throw ConfigurationError(setting: "server.tls.cert_file", message: """
            is empty, so the server would send tokens and patient data as plain HTTP on \(host), which is not a \
            loopback address. Set server.tls.cert_file and server.tls.key_file (`recovery-server init` creates a \
            self-signed pair in the data directory), or set server.allow_plain_http to true if a TLS proxy in front \
            of this server is the only thing that can reach it
            """)
    }

    /// Flattens the file's nested objects into dotted keys.
    static func readFile(_ path: String) throws -> [String: JSONValue] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(setting: "config file", message: "cannot read \(path)")
        }
        let object: JSONValue
        do {
            object = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ConfigurationError(setting: "config file", message: "\(path) is not valid JSON")
        }
        guard case .object(let root) = object else {
            throw ConfigurationError(setting: "config file", message: "\(path) must hold a JSON object")
        }
        var flat: [String: JSONValue] = [:]
        func walk(_ object: [String: JSONValue], prefix: String) {
            for (key, value) in object {
                if key.hasPrefix("$") { continue } // "$comment" and the like
                let path = prefix.isEmpty ? key : prefix + "." + key
                if case .object(let nested) = value { walk(nested, prefix: path) } else { flat[path] = value }
            }
        }
        walk(root, prefix: "")
        return flat
    }
}
