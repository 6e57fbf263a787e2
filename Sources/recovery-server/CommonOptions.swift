import ArgumentParser
import Foundation
import RecoveryCore

/// Options every subcommand takes. Precedence: these flags, then RECOVERY_*
/// environment variables, then the config file, then built-in defaults.
struct CommonOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"),
            help: ArgumentHelp("Directory holding the database (and, by default, the master key).",
                               discussion: "Setting data_dir / RECOVERY_DATA_DIR. Default: /var/lib/recovery-appliance.",
                               valueName: "dir"))
    var dataDirectory: String?

    @Option(name: .customLong("config"),
            help: ArgumentHelp("JSON configuration file (see config/recovery.json). Also RECOVERY_CONFIG.",
                               valueName: "file"))
    var configFile: String?

    @Option(name: .customLong("key-file"),
            help: ArgumentHelp("Master key file. Setting key_file / RECOVERY_KEY_FILE. Default: <data dir>/master.key.",
                               valueName: "file"))
    var keyFile: String?

    /// The effective settings; a bad value ends the program naming the setting.
    func settings(defaultDataDirectory: String? = nil) throws -> Settings {
        let environment = ProcessInfo.processInfo.environment
        return try configured {
            var settings = try SettingsLoader.load(file: configFile ?? environment["RECOVERY_CONFIG"], environment: environment)
            if let dataDirectory {
                settings.dataDirectory = dataDirectory
            } else if let defaultDataDirectory, environment["RECOVERY_DATA_DIR"] == nil {
                settings.dataDirectory = defaultDataDirectory
            }
            if let keyFile { settings.keyFile = keyFile }
            try SettingsLoader.validate(settings)
            return settings
        }
    }
}

/// Runs `body`, turning a bad setting into a failure with exit code 78.
func configured<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ConfigurationError {
        throw Failure(message: error.description, code: 78)
    }
}

/// A fatal, explained condition: printed as one line to standard error.
struct Failure: Error, CustomStringConvertible {
    let message: String
    var code: Int32 = 1
    var description: String { message }
}

/// Runs `body`, turning known errors into a one-line message and exit code.
func explained<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let failure as Failure {
        FileHandle.standardError.write(Data("error: \(failure.message)\n".utf8))
        throw ExitCode(failure.code)
    } catch let error as CryptoError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode(1)
    } catch let error as StorageError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode(1)
    } catch let error as ApplianceError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode(1)
    } catch let error as BackupError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode(1)
    }
}
