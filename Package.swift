// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "RecoveryAppliance",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "recovery-server", targets: ["recovery-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/swift-extras/swift-extras-base64.git", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // libsodium from the system (Debian: libsodium-dev).
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // cairo from the system (Debian: libcairo2-dev): the PDF reports.
        .systemLibrary(
            name: "CCairo",
            pkgConfig: "cairo",
            providers: [.apt(["libcairo2-dev"])]
        ),
        // libqrencode from the system (Debian: libqrencode-dev): QR codes on the
        // registration-key slip.
        .systemLibrary(
            name: "CQRencode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]
        ),
        // One C call into Debian's SQLite (libsqlite3-dev) that Swift cannot
        // make itself: sqlite3_config is variadic.
        .target(
            name: "CSQLiteTuning",
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        // The numbered SQL files in Migrations/ compiled into the binary, so an
        // installed executable needs no resource folder beside it.
        .target(
            name: "RecoveryMigrations",
            path: "Migrations",
            exclude: ["README.md"],
            resources: [
                .embedInCode("0001_initial_schema.sql"),
                .embedInCode("0002_lookup_indexes.sql"),
                .embedInCode("0003_facility_patient_counts.sql"),
                .embedInCode("0004_audit_patient_sets.sql"),
                .embedInCode("0005_patient_list_cards.sql"),
                .embedInCode("0006_audit_seq_never_reused.sql"),
                .embedInCode("0007_account_security.sql"),
                .embedInCode("0008_access_policy.sql"),
                .embedInCode("0009_realtime_events.sql"),
                .embedInCode("0010_messaging.sql"),
                .embedInCode("0011_crisis_and_announcements.sql"),
                .embedInCode("0012_facility_wide_sync_changes.sql"),
                .embedInCode("0013_assessments.sql"),
                .embedInCode("0014_treatment_plans.sql"),
                .embedInCode("0015_consents_and_disclosures.sql"),
                .embedInCode("0016_documents.sql"),
                .embedInCode("0017_federation_delivery.sql"),
                .embedInCode("0018_federation_approval_and_privacy.sql"),
                .embedInCode("0019_master_key_rotation.sql"),
                .embedInCode("0020_key_rotation_checks.sql"),
                .embedInCode("0021_federation_days.sql"),
            ]
        ),
        .target(
            name: "RecoveryCore",
            dependencies: [
                "CSodium",
                "CCairo",
                "CSQLiteTuning",
                "RecoveryMigrations",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "ExtrasBase64", package: "swift-extras-base64"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            // The relapse-risk model's card: documentation kept beside the model.
            exclude: ["Analytics/MODEL_CARD.md"],
            resources: [
                // Assessment instruments' item wording (data, not code).
                .embedInCode("Clinical/instruments.json"),
            ]
        ),
        // The Engine.IO v4 / Socket.IO v5 server protocol over Hummingbird:
        // long-polling and WebSocket transports. Knows nothing of the appliance.
        .target(
            name: "SocketIO",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "RecoveryAPI",
            dependencies: [
                "RecoveryCore",
                "SocketIO",
                "CQRencode",
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // The API documents are compiled in by the EmbedDocuments plugin.
            exclude: ["openapi.json", "asyncapi.json"],
            resources: [
                // The staff console's files (ConsoleFiles serves them).
                .embedInCode("Console/index.html"),
                .embedInCode("Console/console.css"),
                .embedInCode("Console/app.js"),
                .embedInCode("Console/api.js"),
                .embedInCode("Console/dom.js"),
                .embedInCode("Console/realtime.js"),
                .embedInCode("Console/charts.js"),
                .embedInCode("Console/signin.js"),
                .embedInCode("Console/patients.js"),
                .embedInCode("Console/dashboard.js"),
                .embedInCode("Console/messages.js"),
                .embedInCode("Console/crisis.js"),
                .embedInCode("Console/operations.js"),
                .embedInCode("Console/clinical.js"),
                .embedInCode("Console/insights.js"),
                .embedInCode("Console/plans.js"),
                .embedInCode("Console/assessments.js"),
                .embedInCode("Console/consents.js"),
                .embedInCode("Console/threads.js"),
                .embedInCode("Console/favicon.svg"),
            ],
            plugins: ["EmbedDocuments"]
        ),
        // Compiles a target's JSON documents in as string literals (see the plugin's comment).
        .plugin(
            name: "EmbedDocuments",
            capability: .buildTool(),
            dependencies: ["document-embedder"],
            path: "Sources/EmbedDocumentsPlugin"
        ),
        .executableTarget(name: "document-embedder"),
        .executableTarget(
            name: "recovery-server",
            dependencies: [
                "RecoveryCore",
                "RecoveryAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "RecoveryCoreTests",
            dependencies: [
                "RecoveryCore",
                "CSodium",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .testTarget(
            name: "SocketIOTests",
            dependencies: [
                "SocketIO",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ]
        ),
        .testTarget(
            name: "RecoveryAPITests",
            dependencies: [
                "RecoveryAPI",
                "RecoveryCore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ]
)
