// swift-tools-version:6.1
import PackageDescription

let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let serviceLifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let subprocess: Target.Dependency = .product(name: "Subprocess", package: "swift-subprocess")
let system: Target.Dependency = .product(name: "SystemPackage", package: "swift-system")

let package = Package(
    name: "Quiesce",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Quiesce", targets: ["Quiesce"]),
        .library(name: "QuiesceBus", targets: ["QuiesceBus"]),
        .library(name: "QuiesceWriter", targets: ["QuiesceWriter"]),
        .library(name: "QuiesceRequester", targets: ["QuiesceRequester"]),
        .library(name: "QuiesceCoordinator", targets: ["QuiesceCoordinator"]),
        .library(name: "QuiesceTesting", targets: ["QuiesceTesting"]),
        .executable(name: "quiesced", targets: ["quiesced"]),
        .executable(name: "quiescectl", targets: ["quiescectl"]),
        .executable(name: "quiesce-freeze", targets: ["quiesce-freeze"]),
        .executable(name: "quiesce-hook-writer", targets: ["quiesce-hook-writer"]),
        .executable(name: "quiesce-postgres-writer", targets: ["quiesce-postgres-writer"]),
        .executable(name: "quiesce-mariadb-writer", targets: ["quiesce-mariadb-writer"]),
        .executable(name: "notes-writer", targets: ["notes-writer"]),
        .executable(name: "flaky-writer", targets: ["flaky-writer"]),
        .executable(name: "quiesce-bench", targets: ["quiesce-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        // `make docs` only: DocC for the public modules (a plugin; nothing links it).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // MARK: - Targets
        .systemLibrary(
            name: "CGLib",
            pkgConfig: "gio-2.0",
            providers: [.apt(["libglib2.0-dev"])]
        ),
        .target(name: "QuiesceBus", dependencies: ["CGLib"]),
        .systemLibrary(
            name: "CBtrfsUtil",
            pkgConfig: "libbtrfsutil",
            providers: [.apt(["libbtrfsutil-dev"])]
        ),
        .target(name: "QuiesceBtrfs", dependencies: ["CBtrfsUtil"]),
        .systemLibrary(
            name: "CDBus",
            pkgConfig: "dbus-1",
            providers: [.apt(["libdbus-1-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(name: "QuiescePostgres", dependencies: ["CLibPQ"]),
        .systemLibrary(
            name: "CMariaDB",
            pkgConfig: "libmariadb",
            providers: [.apt(["libmariadb-dev"])]
        ),
        .target(name: "QuiesceMariaDB", dependencies: ["CMariaDB"]),
        .target(name: "QuiesceServiceControl", dependencies: ["QuiesceWriter", subprocess, system]),
        .target(name: "Quiesce"),
        .executableTarget(name: "quiesce-interface-generator"),
        .plugin(name: "InterfaceGenerator", capability: .buildTool(), dependencies: ["quiesce-interface-generator"]),
        .target(name: "QuiesceProtocol", dependencies: ["Quiesce", "QuiesceBus"], plugins: ["InterfaceGenerator"]),
        .target(name: "CLinuxFiles"),
        .target(name: "QuiesceFiles", dependencies: ["CLinuxFiles", "Quiesce"]),
        .target(name: "QuiesceServiceBus", dependencies: ["CDBus", "Quiesce", "QuiesceBus"]),
        .target(name: "QuiesceWriter", dependencies: ["Quiesce", "QuiesceBus", "QuiesceServiceBus", "QuiesceProtocol", logging, serviceLifecycle]),
        .target(name: "QuiesceRequester", dependencies: ["Quiesce", "QuiesceBus", "QuiesceProtocol", "QuiesceFiles", subprocess, system]),
        .target(name: "QuiesceCoordinator", dependencies: ["Quiesce", "QuiesceBus", "QuiesceServiceBus", "QuiesceProtocol", "QuiesceFiles", "QuiesceBtrfs", logging, serviceLifecycle, subprocess, system]),
        .target(name: "QuiesceTesting", dependencies: ["Quiesce", "QuiesceProtocol", "QuiesceWriter"]),
        .target(name: "QuiesceCommandLine", dependencies: ["QuiesceBus", argumentParser, logging]),
        .executableTarget(
            name: "quiesced",
            dependencies: ["QuiesceCoordinator", "QuiesceCommandLine", "QuiesceBus", "QuiesceServiceBus", "QuiesceProtocol", "QuiesceFiles", argumentParser, logging, serviceLifecycle]
        ),
        .executableTarget(name: "quiescectl", dependencies: ["QuiesceRequester", "QuiesceCommandLine", "Quiesce", argumentParser]),
        .executableTarget(name: "quiesce-freeze", dependencies: ["CLinuxFiles"]),
        .executableTarget(
            name: "quiesce-hook-writer",
            dependencies: ["QuiesceWriter", "QuiesceFiles", "QuiesceCommandLine", argumentParser, logging, subprocess, system]
        ),
        .executableTarget(
            name: "quiesce-postgres-writer",
            dependencies: ["QuiesceWriter", "QuiescePostgres", "QuiesceServiceControl", "QuiesceFiles", "QuiesceCommandLine", argumentParser, logging]
        ),
        .executableTarget(
            name: "quiesce-mariadb-writer",
            dependencies: ["QuiesceWriter", "QuiesceMariaDB", "QuiesceServiceControl", "QuiesceFiles", "QuiesceCommandLine", argumentParser, logging]
        ),

        .executableTarget(
            name: "quiesce-bench",
            dependencies: ["QuiesceRequester", "QuiesceCommandLine", "Quiesce", "QuiesceBus", "QuiesceServiceBus", "QuiesceProtocol", argumentParser]
        ),

        // MARK: - Examples
        .executableTarget(
            name: "notes-writer",
            dependencies: ["QuiesceWriter", "QuiesceCommandLine", argumentParser, logging],
            path: "Examples/NotesWriter"
        ),
        // A writer in plain C on libdbus-1, from the XML and docs/protocol.md alone.
        .executableTarget(name: "quiesce-c-writer", dependencies: ["CDBus"], path: "Examples/CWriter", exclude: ["Makefile"]),
        .executableTarget(
            name: "flaky-writer",
            dependencies: ["QuiesceWriter", "QuiesceCommandLine", argumentParser, logging],
            path: "Examples/FlakyWriter"
        ),

        // The examples of README.md and the guides, compiled (DocumentedExamplesTests keeps them equal).
        .executableTarget(name: "snippet-readme-writer", dependencies: ["QuiesceWriter"], path: "Examples/Snippets/ReadmeWriter"),
        .executableTarget(name: "snippet-guide-writer", dependencies: ["QuiesceWriter"], path: "Examples/Snippets/GuideWriter"),
        .executableTarget(name: "snippet-guide-requester", dependencies: ["QuiesceRequester"], path: "Examples/Snippets/GuideRequester"),

        // MARK: - Tests
        .testTarget(name: "QuiesceTests", dependencies: ["Quiesce", "QuiesceProtocol", "QuiesceCoordinator"]),
        .testTarget(name: "QuiesceWriterTests", dependencies: ["Quiesce", "QuiesceWriter", "QuiesceTesting"]),
        .testTarget(name: "QuiesceFilesTests", dependencies: ["QuiesceFiles", "Quiesce"]),
        .target(name: "QuiesceTestSupport", dependencies: ["Quiesce", "QuiesceBus", "QuiesceProtocol"], path: "Tests/QuiesceTestSupport"),
        .testTarget(name: "QuiesceBusTests", dependencies: ["QuiesceBus", "QuiesceServiceBus", "QuiesceTestSupport"]),
        .testTarget(
            name: "QuiesceIntegrationTests",
            dependencies: ["Quiesce", "QuiesceBus", "QuiesceProtocol", "QuiesceRequester", "QuiesceTestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
