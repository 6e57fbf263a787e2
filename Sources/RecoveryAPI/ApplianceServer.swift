import Hummingbird
import Logging
import RecoveryCore
import ServiceLifecycle

/// Runs the HTTP server until SIGTERM or SIGINT, then shuts down in order:
/// the server stops accepting, in-flight requests finish (up to
/// `server.shutdown_grace_seconds`), and last the database is checkpointed
/// and closed.
public enum ApplianceServer {
    public static func run(_ appliance: Appliance, logger: Logger) async throws {
        let app = buildApplication(appliance, logger: logger)
        var configuration = ServiceGroupConfiguration(
            services: [
                .init(service: DatabaseService(database: appliance.database, logger: logger)),
                .init(service: CheckpointService(database: appliance.database, logger: logger)),
                .init(service: AuditIndexService(index: AuditPatientIndex(database: appliance.database), logger: logger)),
                .init(service: SilenceWatchService(watch: SilenceWatch(appliance: appliance), logger: logger)),
                .init(service: app),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(appliance.settings.shutdownGraceSeconds)
        try await ServiceGroup(configuration: configuration).run()
    }
}

/// Brings the per-patient audit index up to date every few seconds, and
/// once more at shutdown.
struct AuditIndexService: Service {
    let index: AuditPatientIndex
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                try await index.catchUp()
            } catch {
                logger.error("audit index update failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
            }
            try? await Task.sleep(for: .seconds(3))
        }
        _ = try? await index.catchUp()
    }
}

/// Keeps the database open while the server runs and closes it cleanly
/// after the server has stopped (services shut down in reverse order).
struct DatabaseService: Service {
    let database: AppDatabase
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        do {
            try database.close()
            logger.info("database closed cleanly")
        } catch {
            logger.error("database close failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
        }
    }
}

/// Looks for patients who have gone quiet, at start and then hourly.
struct SilenceWatchService: Service {
    let watch: SilenceWatch
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                try await watch.scan()
            } catch {
                logger.error("silence scan failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3_600)) }
        }
    }
}

/// Keeps the WAL short: a PASSIVE checkpoint every second on the database's
/// own checkpoint connection, so no request ever waits for one.
struct CheckpointService: Service {
    let database: AppDatabase
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                try await database.checkpoint()
            } catch {
                logger.error("checkpoint failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
    }
}
