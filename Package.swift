// swift-tools-version:6.0
import PackageDescription

// BEGIN GENERATED TEAM PLUGINS. GENERATED FILE. DO NOT EDIT! Run `make generate`.
let teamPlugins: [String] = []
// END GENERATED TEAM PLUGINS

/// Built-in plugins: one target each under `Plugins/<Name>`, module `<Name>Plugin`. Every plugin stands on
/// the core and the host layer (TMEOpsHosts); they are siblings, and only Swap (the deploy) composes others.
let builtInPlugins: [(name: String, dependencies: [Target.Dependency])] = [
    ("Transfer", ["TMEOpsSSH", "TMEOpsCrypto", "TMEOpsDocker"]),
    ("Image", ["TMEOpsArchive", "TMEOpsCrypto", "TMEOpsDocker", "TMEOpsSSH"]),
    ("Schema", ["TMEOpsPostgres", "TMEOpsSSH", "TMEOpsDocker", "TMEOpsCrypto"]),
    ("Backup", ["TMEOpsPostgres", "TMEOpsSSH", "TMEOpsDocker", "TMEOpsCrypto", "TMEOpsArchive"]),
    ("Validate", ["TMEOpsSSH", "TMEOpsDocker", "TMEOpsPostgres", "TMEOpsArchive"]),
    ("Swarm", ["TMEOpsDocker", "TMEOpsSSH"]),
    (
        "Swap",
        [
            "TMEOpsArchive", "TMEOpsDocker", "TMEOpsSSH", "TMEOpsPostgres", "TransferPlugin", "ImagePlugin", "SchemaPlugin", "BackupPlugin", "ValidatePlugin",
            "SwarmPlugin", "TMEOpsCrypto",
        ]
    ),
]

let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")

func pluginTarget(_ name: String, _ extra: [Target.Dependency], exclude: [String] = []) -> Target {
    .target(
        name: "\(name)Plugin", dependencies: ["TMEOpsCore", "TMEOpsHosts", argumentParser, logging] + extra, path: "Plugins/\(name)",
        exclude: exclude)
}

func pluginTestTarget(_ name: String, extra: [Target.Dependency] = []) -> Target {
    .testTarget(
        name: "\(name)PluginTests", dependencies: [.target(name: "\(name)Plugin"), "TMEOpsCore", "TMEOpsHosts", "TMEOpsTestSupport"] + extra,
        path: "Tests/Plugins/\(name)PluginTests",
        // The schema plugin's corpus of before/after SQL pairs is read from the source tree.
        exclude: name == "Schema" ? ["Corpus"] : [])
}

let allPlugins = builtInPlugins.map(\.name) + teamPlugins

let package = Package(
    name: "tmeops",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "tmeops", targets: ["tmeops"]),
        .library(name: "TMEOpsCore", targets: ["TMEOpsCore"]),
    ],
    // Exact versions: every build (a release, CI, a contributor's) gets the same code. They are pinned
    // here rather than by a committed Package.resolved, whose commit IDs would tie the build to one
    // mirror of these repositories.
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
    ],
    targets: [
        // C libraries, found through pkg-config; the providers tell SwiftPM which Debian package to suggest.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CLibSSH2", pkgConfig: "libssh2", providers: [.apt(["libssh2-1-dev"])]),
        .systemLibrary(name: "CLibArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        // zlib: gzip streams on the wire (file transfers), compressed and decompressed as bytes flow.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // OpenSSL's libcrypto, which libssh2 links here already: SHA-256 for checksums and fingerprints.
        .systemLibrary(name: "CLibCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // Service modules: one owning Swift wrapper per C library.
        .target(name: "TMEOpsCrypto", dependencies: ["CLibCrypto"]),
        .target(name: "TMEOpsSSH", dependencies: ["CLibSSH2", "TMEOpsCrypto", logging]),
        .testTarget(name: "TMEOpsSSHTests", dependencies: ["TMEOpsSSH", "TMEOpsCrypto", "TMEOpsTestSupport"]),
        .target(name: "TMEOpsPostgres", dependencies: ["CLibPQ", "TMEOpsCrypto"]),
        .testTarget(name: "TMEOpsPostgresTests", dependencies: ["TMEOpsPostgres", "TMEOpsSSH", "TMEOpsDocker", "TMEOpsTestSupport"]),
        .target(name: "TMEOpsArchive", dependencies: ["CLibArchive", "CZlib"]),
        .testTarget(name: "TMEOpsArchiveTests", dependencies: ["TMEOpsArchive", "TMEOpsDocker", "TMEOpsSSH", "TMEOpsTestSupport"]),
        .target(name: "TMEOpsDocker", dependencies: ["TMEOpsSSH", logging]),
        .testTarget(name: "TMEOpsDockerTests", dependencies: ["TMEOpsDocker", "TMEOpsSSH", "TMEOpsTestSupport"]),

        // The host: plugin contract, registry, config, logging, output, redaction.
        .target(
            name: "TMEOpsCore",
            dependencies: [
                argumentParser, logging, .product(name: "Yams", package: "Yams"),
                "TMEOpsSSH", "TMEOpsPostgres", "TMEOpsArchive",
            ]),

        // The host layer: the sections about an environment's servers and one value per host (its SSH
        // session, engine, database, remote state), opened once per command.
        .target(
            name: "TMEOpsHosts",
            dependencies: ["TMEOpsCore", "TMEOpsSSH", "TMEOpsDocker", "TMEOpsPostgres", "TMEOpsArchive", argumentParser, logging]),

        // The thin executable: the composition root.
        .executableTarget(name: "tmeops", dependencies: ["TMEOpsCore", "TMEOpsHosts", argumentParser] + allPlugins.map { .target(name: "\($0)Plugin") }),

        .target(
            name: "TMEOpsTestSupport", dependencies: ["TMEOpsCore", "TMEOpsHosts", logging, argumentParser, "TMEOpsSSH", "TMEOpsArchive"],
            path: "Tests/TMEOpsTestSupport"),
        .testTarget(name: "TMEOpsCoreTests", dependencies: ["TMEOpsCore", "TMEOpsTestSupport"]),
        .testTarget(
            name: "TMEOpsHostsTests",
            dependencies: ["TMEOpsHosts", "TMEOpsCore", "TMEOpsSSH", "TMEOpsTestSupport", "tmeops", "TransferPlugin", "BackupPlugin", "SwapPlugin"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TMEOpsTestSupport", "TMEOpsCore", "tmeops"]),
        .testTarget(name: "SandboxIntegrationTests", dependencies: ["TMEOpsTestSupport", "TMEOpsCore", "tmeops"]),
        // The built-in plugins together: the reference tmeops.yml, examples, help groups.
        .testTarget(
            name: "BuiltInPluginsTests",
            dependencies: ["TMEOpsTestSupport", "TMEOpsCore", "tmeops"] + builtInPlugins.map { .target(name: "\($0.name)Plugin") },
            exclude: ["Fixtures"]),
    ]
        + builtInPlugins.map { pluginTarget($0.name, $0.dependencies) }
        // Built-in plugin tests may load the sandbox's whole tmeops.yml, so they see every plugin (via tmeops).
        + builtInPlugins.map { pluginTestTarget($0.name, extra: ["tmeops"]) }
        + teamPlugins.map { pluginTarget($0, [], exclude: ["plugin.yml"]) }
        + teamPlugins.map { pluginTestTarget($0) },
    swiftLanguageModes: [.v6]
)
