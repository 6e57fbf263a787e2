/// Every setting of the appliance with its default. `config/recovery.json`
/// documents the same values; a test keeps the two identical.
public struct Settings: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// One clinic's appliance (the default).
        case clinic
        /// The organisation's central instance receiving anonymised metrics.
        case central
    }

    public enum Synchronous: String, Sendable, CaseIterable {
        /// fsync on every commit: a committed record survives a power cut.
        case full
        /// As full, plus an fsync of the directory on WAL resets.
        case extra
    }

    public enum LogFormat: String, Sendable, CaseIterable { case json, text }
    public enum LogLevel: String, Sendable, CaseIterable { case trace, debug, info, notice, warning, error, critical }

    public var mode: Mode = .clinic
    public var dataDirectory: String = "/var/lib/recovery-appliance"
    /// Empty means `<data directory>/master.key`.
    public var keyFile: String = ""

    public var serverHost: String = "127.0.0.1"
    public var serverPort: Int = 3000
    /// Browser origins (e.g. `http://192.168.1.20:8080`) allowed to call the API.
    public var corsOrigins: [String] = []
    public var maxBodyBytes: Int = 1_048_576
    /// How long SIGTERM waits for in-flight requests before closing.
    public var shutdownGraceSeconds: Int = 10
    /// The HTTPS certificate (chain) and its private key, PEM. Relative paths
    /// are inside the data directory, where `init` writes a self-signed pair.
    /// An empty certificate path serves plain HTTP.
    public var tlsCertificateFile: String = "tls-cert.pem"
    public var tlsKeyFile: String = "tls-key.pem"
    /// Plain HTTP on an address other than loopback is refused unless this is set.
    public var allowPlainHTTP: Bool = false
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    public var trustedProxies: [IPNetwork] = []

    public var databaseBusyTimeoutMilliseconds: Int = 5_000
    public var databaseSynchronous: Synchronous = .full

    public var logLevel: LogLevel = .info
    public var logFormat: LogFormat = .json

    public var registrationKeyTTLHours: Int = 48
    /// Lifetime of an access token (JWT).
    public var accessTokenTTLSeconds: Int = 900
    /// Staff sessions end after this long without use (HIPAA automatic logoff).
    public var staffIdleTimeoutMinutes: Int = 30
    /// ... and after this long whatever the use.
    public var staffSessionMaxHours: Int = 12
    /// Patients' phones stay signed in longer: 30 days idle, 90 days at most.
    public var patientIdleTimeoutMinutes: Int = 43_200
    public var patientSessionMaxHours: Int = 2_160
    /// Failed logins or registrations for one account within the window before it is locked.
    public var accountFailureLimit: Int = 5
    /// Failed attempts from one client address within the window before it is refused.
    public var addressFailureLimit: Int = 20
    /// The sliding window (and lockout length) for both limits.
    public var failureWindowMinutes: Int = 15
    public var passwordMinLength: Int = 12
    public var passwordMaxLength: Int = 128

    /// The most items one `/sync/push` may carry.
    public var syncMaxBatchItems: Int = 500

    /// Engine.IO heartbeat: the server pings this often and drops a client
    /// whose answer is later than the timeout.
    public var realtimePingIntervalSeconds: Int = 25
    public var realtimePingTimeoutSeconds: Int = 20
    /// Events queued for one socket before it counts as too slow and is disconnected.
    public var realtimeMaxQueuedEvents: Int = 1_000

    /// An unacknowledged crisis alert escalates after this long, and again
    /// after as long again (facility admins, then every clinician on shift).
    public var crisisEscalateAfterSeconds: Int = 300

    /// The server's own backups: when, where (relative paths are inside the
    /// data directory), and how many to keep (the newest of each of the last
    /// `backupKeepDaily` days and `backupKeepWeekly` weeks that have one).
    public var backupSchedule: BackupSchedule = .daily(hour: 2, minute: 0)
    public var backupDirectory: String = "backups"
    public var backupKeepDaily: Int = 7
    public var backupKeepWeekly: Int = 4

    /// Writes answer 507 and the readiness check fails when the data
    /// directory's file system has less free space than this.
    public var storageMinFreeBytes: Int = 1_073_741_824

    /// Addresses and CIDR blocks that may read `/metrics` without a token
    /// (loopback always may).
    public var metricsAllowedAddresses: [IPNetwork] = []

    /// The largest document a patient record accepts (413 beyond); the
    /// upload route's own body limit, streamed and encrypted in chunks.
    public var documentsMaxBytes: Int = 26_214_400

    /// A clinic computes what is due and sends it to central this often.
    public var federationIntervalSeconds: Int = 3_600
    /// Plain http:// to central on an address other than loopback is refused unless this is set.
    public var federationAllowPlainHTTP: Bool = false
    /// A clinic's payloads wait in the outbox until an administrator approves them (`POST /federation/preview/approve`).
    public var federationRequireApproval: Bool = false
    /// Discrete Laplace noise on sent counts: the epsilon of one draw; 0 sends exact counts.
    public var federationNoiseEpsilon: Double = 0
    /// The most epsilon one count cell of a week may spend on draws in total.
    public var federationNoiseBudget: Double = 2

    public init() {}

    public var resolvedKeyFile: String {
        keyFile.isEmpty ? dataDirectory + "/master.key" : keyFile
    }

    public var databasePath: String { dataDirectory + "/recovery.sqlite" }

    public var resolvedBackupDirectory: String { insideDataDirectory(backupDirectory) }

    /// The certificate file to serve HTTPS with; nil serves plain HTTP.
    public var resolvedTLSCertificateFile: String? {
        tlsCertificateFile.isEmpty ? nil : insideDataDirectory(tlsCertificateFile)
    }

    public var resolvedTLSKeyFile: String { insideDataDirectory(tlsKeyFile) }

    /// A relative path taken as inside the data directory.
    func insideDataDirectory(_ path: String) -> String {
        path.hasPrefix("/") ? path : dataDirectory + "/" + path
    }
}
