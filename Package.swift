// swift-tools-version:6.0
import PackageDescription

// Targets are cut by capability (see docs/design.md). The agent's closure (KadendeAgent and what it
// imports) must stay free of Hummingbird, GRDB and database drivers: scripts/check-agent-links enforces it.
let package = Package(
    name: "kadende",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kadende", targets: ["kadende"]),
        .executable(name: "kadende-agent", targets: ["kadende-agent"]),
        .executable(name: "kadende-loadgen", targets: ["kadende-loadgen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.24.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.21.0"),
    ],
    targets: [
        // Small pieces shared by coordinator and agent with no dependencies: atomic owner-only files, node ids.
        .target(name: "KadendeSupport"),
        // Domain vocabulary: group specs (strict YAML), node states, ids, events.
        .target(name: "KadendeModel", dependencies: ["KadendeSupport", "KadendeWire", .product(name: "Yams", package: "Yams")]),
        // Framing and versioned messages spoken between agent and coordinator.
        .target(name: "KadendeWire", dependencies: [
            "KadendeSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // CA, certificates, CSRs, pins and TLS configurations for both ends.
        .target(name: "KadendePKI", dependencies: [
            "KadendeSupport",
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .target(name: "KadendeStore", dependencies: [
            "KadendeModel", "KadendeWire",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The store on PostgreSQL, for coordinator replicas: the same contract as SQLite's.
        .target(name: "KadendePostgres", dependencies: [
            "KadendeStore", "KadendeModel", "KadendeWire", "KadendeSupport",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "KadendeHealth", dependencies: ["KadendeModel"]),
        // Users and what they may do: scrypt password hashes, API tokens, roles per cluster, login throttling (pure).
        .target(name: "KadendeAuth", dependencies: [
            "KadendeSupport",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "CryptoExtras", package: "swift-crypto"),
        ]),
        // Running health checks: commands with timeouts, TCP and HTTP over NIO, rise/fall counting. The agent runs
        // its node's probes with it, the coordinator its external probes.
        .target(name: "KadendeProbes", dependencies: [
            "KadendeWire", "KadendeSupport",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // cloud-init user-data for real machines: the agent's config, unit and installer (templates live here).
        .target(name: "KadendeBootstrap", dependencies: [
            "KadendeModel", "KadendeWire", .product(name: "Yams", package: "Yams"),
        ], path: "bootstrap", exclude: ["README.md"]),
        .target(name: "KadendeReconciler", dependencies: ["KadendeModel", "KadendeHealth"]),
        // Configuration rollouts: the pure planner (batches, health gate, failures, rollback).
        .target(name: "KadendeRollout", dependencies: ["KadendeModel", "KadendeStore", "KadendeWire"]),
        .target(name: "KadendeProviders", dependencies: [
            "KadendeModel", "KadendeWire", "KadendeSupport",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // EC2 over its Query API: SigV4 signing, retries, the provider.
        .target(name: "KadendeEC2", dependencies: [
            "KadendeProviders", "KadendeModel", "KadendeSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "KadendeGateway", dependencies: [
            "KadendeModel", "KadendeWire", "KadendePKI", "KadendeStore", "KadendeHealth", "KadendeSupport",
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Public REST shapes, shared by the HTTP server and the CLI.
        .target(name: "KadendeAPI", dependencies: ["KadendeModel", "KadendeWire"]),
        .target(name: "KadendeHTTP", dependencies: [
            "KadendeAPI", "KadendeModel", "KadendeAuth",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ], resources: [
            // The web dashboard, compiled into the binary: a coordinator is one file to install.
            .embedInCode("Dashboard/index.html"), .embedInCode("Dashboard/dashboard.css"), .embedInCode("Dashboard/dashboard.js"),
        ]),
        // Composition root: wires store, gateway, reconcile loop and HTTP into one ServiceGroup.
        .target(name: "KadendeCoordinator", dependencies: [
            "KadendeModel", "KadendeStore", "KadendePostgres", "KadendePKI", "KadendeGateway", "KadendeReconciler", "KadendeRollout", "KadendeAuth",
            "KadendeHealth", "KadendeProviders", "KadendeEC2", "KadendeHTTP", "KadendeAPI", "KadendeSupport", "KadendeWire", "KadendeBootstrap",
            "KadendeProbes", .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .target(name: "KadendeCLI", dependencies: [
            "KadendeAPI", "KadendeModel", "KadendeCoordinator", "KadendeProviders", "KadendeEC2", "KadendeWire", "KadendeAuth",
            "KadendeStore", "KadendePostgres", "KadendeSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "kadende", dependencies: ["KadendeCLI"]),

        // The agent: its own closure, no HTTP framework, no database driver.
        .target(name: "KadendeAgent", dependencies: [
            "KadendeWire", "KadendePKI", "KadendeSupport", "KadendeProbes",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "agent/Sources/KadendeAgent"),
        .executableTarget(name: "kadende-agent", dependencies: ["KadendeAgent", .product(name: "NIOCore", package: "swift-nio")],
                          path: "agent/Sources/kadende-agent"),

        // Simulated agents for benchmarks: the real protocol over real mutual TLS, thousands per process.
        .executableTarget(name: "kadende-loadgen", dependencies: [
            "KadendeAgent", "KadendePKI", "KadendeWire",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .testTarget(name: "KadendeSupportTests", dependencies: ["KadendeSupport"]),
        .testTarget(name: "KadendeModelTests", dependencies: ["KadendeModel"]),
        .testTarget(name: "KadendeWireTests", dependencies: ["KadendeWire", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio")]),
        .testTarget(name: "KadendePKITests", dependencies: ["KadendePKI"]),
        .testTarget(name: "KadendeBootstrapTests", dependencies: ["KadendeBootstrap", "KadendeModel", "KadendeWire"]),
        .testTarget(name: "KadendeEC2Tests", dependencies: [
            "KadendeEC2", "KadendeProviders", "KadendeModel", "KadendeWire",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], exclude: ["SigV4TestSuite"]),
        .testTarget(name: "KadendeStoreTests", dependencies: [
            "KadendeStore", "KadendePostgres", "KadendeModel", "KadendeWire", "KadendeSupport",
            .product(name: "Logging", package: "swift-log"), .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
        .testTarget(name: "KadendeRolloutTests", dependencies: ["KadendeRollout", "KadendeStore", "KadendeModel", "KadendeWire"]),
        .testTarget(name: "KadendeReconcilerTests", dependencies: ["KadendeReconciler", "KadendeHealth", "KadendeModel", "KadendeWire"]),
        .testTarget(name: "KadendeAuthTests", dependencies: ["KadendeAuth"]),
        .testTarget(name: "KadendeProvidersTests", dependencies: [
            "KadendeProviders", "KadendeModel", "KadendeWire", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "KadendeProbesTests", dependencies: [
            "KadendeProbes", "KadendeWire", "KadendeSupport",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "KadendeAgentTests", dependencies: [
            "KadendeAgent", "KadendePKI", "KadendeWire",
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "agent/Tests/KadendeAgentTests"),
        .testTarget(name: "KadendeEndToEndTests", dependencies: [
            "KadendeCoordinator", "KadendeCLI", "KadendeAPI", "KadendeModel", "KadendeStore", "KadendePKI",
            "KadendeWire", "KadendeGateway", "KadendeAgent", "KadendeEC2", "KadendeProviders", "KadendeSupport",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
