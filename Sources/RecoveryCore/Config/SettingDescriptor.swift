import Foundation

/// One setting: its key in the file, its environment variable, how to read
/// and check it. The list below is the single place settings are declared.
struct SettingDescriptor: Sendable {
    enum Source {
        case json(JSONValue)
        case text(String)
    }

    let key: String
    let apply: @Sendable (Source, inout Settings) throws -> Void

    var environmentName: String {
        "RECOVERY_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    static let all: [SettingDescriptor] = [
        choice("mode", \.mode),
        string("data_dir", \.dataDirectory, allowEmpty: false),
        string("key_file", \.keyFile, allowEmpty: true),
        string("server.host", \.serverHost, allowEmpty: false),
        integer("server.port", \.serverPort, 1...65_535),
        list("server.cors_origins", \.corsOrigins),
        integer("server.max_body_bytes", \.maxBodyBytes, 1_024...104_857_600),
        integer("server.shutdown_grace_seconds", \.shutdownGraceSeconds, 0...300),
        string("server.tls.cert_file", \.tlsCertificateFile, allowEmpty: true),
        string("server.tls.key_file", \.tlsKeyFile, allowEmpty: true),
        boolean("server.allow_plain_http", \.allowPlainHTTP),
        networks("server.trusted_proxies", \.trustedProxies),
        integer("database.busy_timeout_ms", \.databaseBusyTimeoutMilliseconds, 0...600_000),
        choice("database.synchronous", \.databaseSynchronous),
        choice("log.level", \.logLevel),
        choice("log.format", \.logFormat),
        integer("auth.registration_key_ttl_hours", \.registrationKeyTTLHours, 1...720),
        integer("auth.access_token_ttl_seconds", \.accessTokenTTLSeconds, 60...3_600),
        integer("auth.staff_idle_timeout_minutes", \.staffIdleTimeoutMinutes, 1...1_440),
        integer("auth.staff_session_max_hours", \.staffSessionMaxHours, 1...168),
        integer("auth.patient_idle_timeout_minutes", \.patientIdleTimeoutMinutes, 5...129_600),
        integer("auth.patient_session_max_hours", \.patientSessionMaxHours, 1...8_760),
        integer("auth.account_failure_limit", \.accountFailureLimit, 1...100),
        integer("auth.address_failure_limit", \.addressFailureLimit, 1...10_000),
        integer("auth.failure_window_minutes", \.failureWindowMinutes, 1...1_440),
        integer("auth.password_min_length", \.passwordMinLength, 8...128),
        integer("auth.password_max_length", \.passwordMaxLength, 64...1_024),
        integer("sync.max_batch_items", \.syncMaxBatchItems, 1...5_000),
        integer("realtime.ping_interval_seconds", \.realtimePingIntervalSeconds, 1...300),
        integer("realtime.ping_timeout_seconds", \.realtimePingTimeoutSeconds, 1...300),
        integer("realtime.max_queued_events", \.realtimeMaxQueuedEvents, 16...100_000),
        integer("crisis.escalate_after_seconds", \.crisisEscalateAfterSeconds, 10...86_400),
        schedule("backup.schedule", \.backupSchedule),
        string("backup.dir", \.backupDirectory, allowEmpty: false),
        integer("backup.keep_daily", \.backupKeepDaily, 1...366),
        integer("backup.keep_weekly", \.backupKeepWeekly, 0...520),
        integer("storage.min_free_bytes", \.storageMinFreeBytes, 0...1_099_511_627_776),
        networks("metrics.allowed_addresses", \.metricsAllowedAddresses),
        integer("documents.max_bytes", \.documentsMaxBytes, 1_024...1_073_741_824),
        integer("federation.interval_seconds", \.federationIntervalSeconds, 5...86_400),
        boolean("federation.allow_plain_http", \.federationAllowPlainHTTP),
        boolean("federation.require_approval", \.federationRequireApproval),
        // Below 0.01 the noise's scale is beyond what a draw can represent.
        decimal("federation.noise_epsilon", \.federationNoiseEpsilon, 0.01...10, orOff: true),
        decimal("federation.noise_budget", \.federationNoiseBudget, 0.01...100),
    ]

    /// A backup schedule: off, hourly, every N minutes, or daily HH:MM.
    static func schedule(_ key: String, _ path: WritableKeyPath<Settings, BackupSchedule> & Sendable) -> SettingDescriptor {
        SettingDescriptor(key: key) { source, settings in
            let text: String?
            switch source {
            case .text(let value): text = value
            case .json(let any):
                if case .string(let value) = any { text = value } else { text = nil }
            }
            guard let text, let schedule = BackupSchedule(text.trimmingCharacters(in: .whitespaces)) else {
                throw invalid(key, "must be off, hourly, \"every N minutes\" (1 to 1440) or \"daily HH:MM\" (local time)")
            }
            settings[keyPath: path] = schedule
        }
    }

    static func string(_ key: String, _ path: WritableKeyPath<Settings, String> & Sendable, allowEmpty: Bool) -> SettingDescriptor {
        SettingDescriptor(key: key) { source, settings in
            let value: String
            switch source {
            case .text(let text): value = text
            case .json(let any):
                guard case .string(let text) = any else { throw invalid(key, "must be a string") }
                value = text
            }
            if !allowEmpty && value.trimmingCharacters(in: .whitespaces).isEmpty {
                throw invalid(key, "must not be empty")
            }
            settings[keyPath: path] = value
        }
    }

    static func integer(_ key: String, _ path: WritableKeyPath<Settings, Int> & Sendable, _ range: ClosedRange<Int>) -> SettingDescriptor {
        SettingDescriptor(key: key) { source, settings in
            let message = "must be a whole number from \(range.lowerBound) to \(range.upperBound)"
            let value: Int?
            switch source {
            case .text(let text): value = Int(text.trimmingCharacters(in: .whitespaces))
            case .json(let any):
                if case .integer(let number) = any { value = number } else { value = nil }
            }
            guard let value, range.contains(value) else { throw invalid(key, message) }
            settings[keyPath: path] = value
        }
    }

    /// A number (a JSON integer or decimal; plain digits in the environment).
    /// `orOff`: 0 is accepted besides the range (the feature is off).
    static func decimal(_ key: String, _ path: WritableKeyPath<Settings, Double> & Sendable, _ range: ClosedRange<Double>,
                        orOff: Bool = false) -> SettingDescriptor {
        SettingDescriptor(key: key) { source, settings in
            let message = (orOff ? "must be 0 (off) or a number from " : "must be a number from ") + "\(range.lowerBound) to \(range.upperBound)"
            let value: Double?
            switch source {
            case .text(let text): value = Double(text.trimmingCharacters(in: .whitespaces))
            case .json(let any):
                switch any {
                case .integer(let number): value = Double(number)
                case .number(let number): value = number
                default: value = nil
                }
            }
            guard let value, value.isFinite, range.contains(value) || (orOff && value == 0) else { throw invalid(key, message) }
            settings[keyPath: path] = value
        }
    }

    static func choice<T: RawRepresentable & CaseIterable & Sendable>(_ key: String, _ path: WritableKeyPath<Settings, T> & Sendable) -> SettingDescriptor where T.RawValue == String {
        SettingDescriptor(key: key) { source, settings in
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            let raw: String?
            switch source {
            case .text(let text): raw = text.trimmingCharacters(in: .whitespaces).lowercased()
            case .json(let any):
                if case .string(let text) = any { raw = text.lowercased() } else { raw = nil }
            }
            guard let raw, let value = T(rawValue: raw) else { throw invalid(key, "must be one of: \(allowed)") }
            settings[keyPath: path] = value
        }
    }

    /// true or false (JSON booleans; `true`/`false` in the environment).
    static func boolean(_ key: String, _ path: WritableKeyPath<Settings, Bool> & Sendable) -> SettingDescriptor {
        SettingDescriptor(key: key) { source, settings in
            let value: Bool?
            switch source {
            case .text(let text):
                switch text.trimmingCharacters(in: .whitespaces).lowercased() {
                case "true": value = true
                case "false": value = false
                default: value = nil
                }
            case .json(let any):
                if case .bool(let flag) = any { value = flag } else { value = nil }
            }
            guard let value else { throw invalid(key, "must be true or false") }
            settings[keyPath: path] = value
        }
    }

    /// A list of addresses and CIDR blocks, each checked; an entry that is
    /// neither is named in the error.
    static func networks(_ key: String, _ path: WritableKeyPath<Settings, [IPNetwork]> & Sendable) -> SettingDescriptor {
        SettingDescriptor(key: key) { source, settings in
            settings[keyPath: path] = try strings(source, key).map { entry in
                do { return try IPNetwork(parsing: entry) } catch let error as IPNetwork.ParseError {
                    throw invalid(key, error.description)
                }
            }
        }
    }

    /// A list: a JSON array of strings, or comma-separated in the environment.
    static func list(_ key: String, _ path: WritableKeyPath<Settings, [String]> & Sendable) -> SettingDescriptor {
        SettingDescriptor(key: key) { source, settings in
            settings[keyPath: path] = try strings(source, key)
        }
    }

    /// The strings of a list setting, as `list` and `networks` read them.
    static func strings(_ source: Source, _ key: String) throws -> [String] {
        switch source {
        case .text(let text):
            return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        case .json(let any):
            guard case .array(let items) = any else { throw invalid(key, "must be a list of strings") }
            return try items.map { item in
                guard case .string(let text) = item else { throw invalid(key, "must be a list of strings") }
                return text
            }
        }
    }

    static func invalid(_ key: String, _ message: String) -> ConfigurationError {
        ConfigurationError(setting: key, message: message)
    }
}
