// swift-tools-version: 6.0
import PackageDescription

/// Where libostree-dev and libglib2.0-dev put the headers `pkg-config --cflags ostree-1` names (Debian and Fedora
/// layouts; a folder that does not exist is ignored). COSTree has no pkgConfig, whose link flags would load libostree
/// into every command: every Swift target gets the header paths instead, since a release build's cross-module
/// optimization loads COSTree wherever OSTree's code is inlined.
let ostreeHeaders = ["/usr/include/ostree-1", "/usr/include/gio-unix-2.0", "/usr/include/glib-2.0"]
    + ["x86_64-linux-gnu", "aarch64-linux-gnu"].map { "/usr/lib/\($0)/glib-2.0/include" }
    + ["/usr/lib64/glib-2.0/include", "/usr/lib/glib-2.0/include"]

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6), .unsafeFlags(ostreeHeaders.flatMap { ["-Xcc", "-I\($0)"] })]

let package = Package(
    name: "Rearguard",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rearguard", targets: ["rearguard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        // C libraries (STYLE C1): module maps and shims only.
        // libostree's headers only (no pkgConfig: its link flags would load libostree into every command); the OSTree
        // target opens the library at run time and passes the header paths below.
        .systemLibrary(name: "COSTree", providers: [.apt(["libostree-dev"]), .yum(["ostree-devel"])]),
        .systemLibrary(name: "CPosix"),
        .systemLibrary(name: "CResolv", providers: [.apt(["libc6-dev"]), .yum(["glibc-devel"])]),
        .systemLibrary(
            name: "CSystemd", pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"]), .yum(["systemd-devel"])]),

        // Threads and child processes over POSIX (pthreads, posix_spawn), for the agent, the CLI and the tests.
        .target(name: "Posix", dependencies: ["CPosix"], swiftSettings: strict),

        // Swift wrappers over the C libraries.
        .target(
            name: "OSTree", dependencies: ["COSTree", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: strict),
        // D-Bus over sd-bus: the bus (reconnecting, on its own thread), the message, the errors. The two
        // clients below build on it; neither knows the other.
        .target(
            name: "DBus", dependencies: ["CSystemd", "Posix", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        // systemd and logind (units, the watch, reboot, inhibitors), the journal and sd_notify.
        .target(
            name: "Systemd", dependencies: ["CSystemd", "DBus", "Posix", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        // rpm-ostreed: its sessions and transactions (rollback, cleanup).
        .target(
            name: "RpmOstree", dependencies: ["CSystemd", "DBus", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),

        // Pure domain: no C imports.
        .target(
            name: "RearguardCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: strict),
        // One HTTP/1.1 exchange per connection over SwiftNIO (Unix socket, TCP, TLS through swift-nio-ssl): the API's
        // client, the FleetLock client and the HTTP check share it.
        .target(
            name: "HTTP1",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict),
        .target(
            name: "RearguardChecks",
            dependencies: ["RearguardCore", "HTTP1", "Posix", "CResolv", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        // The agent's API: wire documents, the HTTP server on the Unix socket and its client (plain SwiftNIO HTTP/1).
        .target(
            name: "RearguardAPI",
            dependencies: [
                "RearguardCore", "HTTP1", .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict),
        .target(
            name: "RearguardDaemon",
            dependencies: [
                "RearguardCore", "RearguardChecks", "RearguardAPI", "OSTree", "DBus", "Systemd", "RpmOstree", "Posix",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .target(
            name: "RearguardCLI",
            dependencies: [
                "RearguardCore", "RearguardChecks", "RearguardAPI", "RearguardDaemon", "OSTree", "DBus", "Systemd", "Posix",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .executableTarget(name: "rearguard", dependencies: ["RearguardCLI"], swiftSettings: strict),

        // Fixtures shared by the test targets: real sysroots, process runs.
        .target(name: "TestSupport", dependencies: ["Posix"], path: "Tests/TestSupport", swiftSettings: strict),
        // The shared-resource traits (the test guest, a node guest) that let suites run in parallel.
        .target(name: "TestScopes", dependencies: ["TestSupport"], path: "Tests/TestScopes", swiftSettings: strict),
        .testTarget(name: "OSTreeTests", dependencies: ["OSTree", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "SystemdTests", dependencies: ["DBus", "Systemd", "RearguardCore", "RearguardDaemon", "TestSupport", "TestScopes", "Posix"], swiftSettings: strict),
        // Runs inside the test guest (journald, sd_notify) and times the watch; built with
        // --static-swift-stdlib by scripts/test. Not shipped.
        .executableTarget(
            name: "rearguard-systemd-probe",
            dependencies: ["DBus", "Systemd", .product(name: "Logging", package: "swift-log")],
            path: "Tests/SystemdProbe", swiftSettings: strict),
        // The parts of scripts/bench that drive the test fixtures (a node, the stand-in rpm-ostreed). Not shipped.
        .executableTarget(name: "rearguard-bench", dependencies: ["TestSupport"], path: "Tests/Bench", swiftSettings: strict),
        .testTarget(name: "RearguardCoreTests", dependencies: ["RearguardCore", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "RearguardDaemonTests", dependencies: ["RearguardDaemon", "TestSupport"], swiftSettings: strict),
        // The rpm-ostree client and driver against the stand-in rpm-ostreed on the test guest's bus.
        .testTarget(
            name: "RpmOstreeTests",
            dependencies: ["RearguardDaemon", "RearguardCore", "DBus", "RpmOstree", "TestSupport", "TestScopes", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict),
        .testTarget(name: "RearguardChecksTests", dependencies: ["RearguardChecks", "TestSupport"], swiftSettings: strict),
        // An AgentEndpoint holding real documents for the HTTP layer's tests and benchmark until the daemon's agent
        // is wired in, and a small server executable around it for manual curl runs.
        .target(
            name: "APITestSupport", dependencies: ["RearguardAPI", "RearguardCore"], path: "Tests/APITestSupport",
            swiftSettings: strict),
        .executableTarget(
            name: "rearguard-api-fixture",
            dependencies: [
                "APITestSupport", "RearguardAPI",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/APIFixture", swiftSettings: strict),
        .testTarget(
            name: "RearguardAPITests",
            dependencies: [
                "RearguardAPI", "RearguardCLI", "APITestSupport", "TestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "RearguardCLITests", dependencies: ["RearguardCLI", "RearguardDaemon", "TestSupport", "TestScopes"], swiftSettings: strict),
        // The shipped image, quadlets, boot gate and Butane config on the node guest (podman 5, systemd 257).
        .testTarget(name: "NodeTests", dependencies: ["TestSupport", "TestScopes"], swiftSettings: strict),
    ]
)
