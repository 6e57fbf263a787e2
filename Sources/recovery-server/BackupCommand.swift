import ArgumentParser
import Foundation
import RecoveryCore

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write an encrypted backup of the data directory, or verify one.",
        subcommands: [Create.self, Verify.self],
        defaultSubcommand: Create.self)

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Back up the database, the audit head and the documents to one encrypted file (the default).",
            discussion: """
            Safe while the server runs: the database is copied from one read transaction \
            (SQLite's online backup), so writes go on meanwhile. The file is encrypted and \
            authenticated with a key derived from the master key and never contains the key \
            itself: keep the key backed up separately. The file is written beside its final \
            name and renamed into place when complete; an existing file is never overwritten.
            """)

        @OptionGroup var common: CommonOptions

        @Option(name: .customLong("to"), help: ArgumentHelp("The backup file to write.", valueName: "file"))
        var destination: String

        func run() async throws {
            restrictNewFiles()
            try await explained {
                let settings = try common.settings()
                let started = Date()
                let written = try ApplianceBackup.create(settings: settings, to: destination)
                print("wrote \(written.file): \(written.bytes) bytes, schema version \(written.manifest.schemaVersion), "
                      + "\(written.manifest.counts["patients"] ?? 0) patients, \(written.manifest.counts["audit_logs"] ?? 0) audit entries, "
                      + "\(written.manifest.documentCount) document files, in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
                let files = written.keyVersions.map { KeyRing.keyFile(settings.resolvedKeyFile, version: $0) }
                if let rotation = written.rotation {
                    print("note: a master-key rotation (\(rotation.fromVersion)->\(rotation.toVersion)) was running, so this backup needs "
                          + "the key files of versions \(written.keyVersions.map(String.init).joined(separator: " and ")) to be verified or "
                          + "restored: keep \(files.joined(separator: " and ")) with it (version \(rotation.fromVersion)'s file is the one "
                          + "the rotation will tell you to destroy)")
                } else {
                    print("it needs master key version \(written.keyVersions.map(String.init).joined(separator: " and ")) (\(files.joined(separator: ", "))) to be verified or restored")
                }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a backup file: decrypt it, restore it into a temporary directory and check the copy.",
            discussion: """
            Needs the master key the backup was made with (--key-file, or the key in \
            --data-dir). Checks the manifest, SQLite's integrity_check, the key check, the row \
            counts and the audit trail's chain up to its sealed head, then removes the \
            temporary copy. Exit 0 when the backup is sound, 1 saying what is wrong.
            """)

        @OptionGroup var common: CommonOptions

        @Argument(help: ArgumentHelp("The backup file.", valueName: "file"))
        var file: String

        func run() async throws {
            try await explained {
                let settings = try common.settings()
                let verified = try ApplianceBackup.verify(file: file, settings: settings)
                print("backup verified: \(file)")
                describe(verified)
            }
        }
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup file into a new data directory.",
        discussion: """
        The directory given with --data-dir must not exist, be empty, or hold nothing but the \
        master key file (master.key, or the file --key-file names): a restore never writes \
        over an appliance. The key must be the one the backup was made with. The restored \
        copy is checked as `backup verify` checks it; if anything fails, what was written is \
        removed again. Start the server on the directory afterwards.
        """)

    @OptionGroup var common: CommonOptions

    @Argument(help: ArgumentHelp("The backup file.", valueName: "file"))
    var file: String

    func run() async throws {
        restrictNewFiles()
        try await explained {
            guard common.dataDirectory != nil || ProcessInfo.processInfo.environment["RECOVERY_DATA_DIR"] != nil else {
                throw Failure(message: "say where to restore to: --data-dir NEWDIR", code: 64)
            }
            let settings = try common.settings()
            let restored = try ApplianceBackup.restore(file: file, settings: settings)
            print("restored \(file) into \(settings.dataDirectory)")
            describe(restored)
            print("Start the server with: recovery-server serve --data-dir \(settings.dataDirectory)"
                  + (common.keyFile.map { " --key-file \($0)" } ?? ""))
        }
    }
}

/// The manifest of a verified or restored backup, for the operator.
func describe(_ verified: ApplianceBackup.Verified) {
    let manifest = verified.manifest
    print("  made:           \(manifest.createdAt) by recovery-server \(manifest.recoveryVersion)")
    print("  appliance:      \(manifest.applianceID ?? "unknown")")
    print("  schema version: \(manifest.schemaVersion)")
    print("  rows:           " + manifest.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    print("  audit trail:    \(verified.auditEntries) entries, chain intact")
}
