import ArgumentParser
import Logging
import QuiesceBus
import QuiesceCommandLine
import QuiesceCoordinator
import QuiesceFiles
import ServiceLifecycle

/// The Quiesce coordinator daemon.
@main
struct Quiesced: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiesced",
        abstract: "The Quiesce coordinator: finds writers and runs application-consistent backup sessions.",
        discussion: """
            quiesced owns org.quiesce.Coordinator on the chosen bus. It stops cleanly on SIGTERM or \
            SIGINT: running sessions are aborted and every writer is thawed first.
            """,
        version: Coordinator.version
    )

    @OptionGroup var busOptions: BusOptions
    @OptionGroup var loggingOptions: LoggingOptions

    @Option(help: ArgumentHelp("Where state that outlives a session lives (journals of interrupted restores).", valueName: "dir"))
    var stateDir = "/var/lib/quiesce"

    @Option(help: ArgumentHelp("Where the copy provider puts snapshot sets (default: <state-dir>/snapshots); not on a volume you back up.", valueName: "dir"))
    var snapshotRoot: String?

    @Option(help: ArgumentHelp("The provider for every volume when a requester names none (default: one per volume: btrfs, reflink, freeze, command, copy).", valueName: "name"))
    var provider: String?

    @Option(help: ArgumentHelp("The largest volume the copy provider takes unless named, in MiB.", valueName: "MiB"))
    var copySizeLimit: Int64 = 256

    @Option(help: ArgumentHelp("The longest the snapshot step may keep writers frozen; past it the set fails.", valueName: "seconds"))
    var writeHoldLimit: Double = 10

    @Option(
        name: .customLong("timeout"),
        help: ArgumentHelp("Per-event timeout in seconds, e.g. freeze=5 (repeatable).", valueName: "event=seconds")
    )
    var timeouts: [String] = []

    @Option(help: "The most writer calls in flight at once (the system bus allows 128 pending replies per connection).")
    var maxCallsInFlight = 120

    @Option(help: "The most sessions open at once.")
    var maxSessions = 16

    @Option(help: ArgumentHelp("Abort and close a session whose requester has not called it for this long.", valueName: "seconds"))
    var sessionIdleTimeout: Double = 1800

    @Option(help: ArgumentHelp("A group whose members may start backup sessions (root and quiesced's own user always may).", valueName: "group"))
    var allowGroup: String?

    func validate() throws {
        var timeouts = PhaseTimeouts.defaults
        for setting in self.timeouts {
            do { try timeouts.apply(setting) } catch { throw ValidationError(error.description) }
        }
        guard (1...1024).contains(maxCallsInFlight) else { throw ValidationError("--max-calls-in-flight must be 1 to 1024") }
        guard (1...1024).contains(maxSessions) else { throw ValidationError("--max-sessions must be 1 to 1024") }
        guard stateDir.hasPrefix("/") else { throw ValidationError("--state-dir must be an absolute path") }
        guard snapshotRoot?.hasPrefix("/") ?? true else { throw ValidationError("--snapshot-root must be an absolute path") }
        guard sessionIdleTimeout >= 1 else { throw ValidationError("--session-idle-timeout must be at least 1 second") }
        guard copySizeLimit >= 0 else { throw ValidationError("--copy-size-limit must not be negative") }
        guard writeHoldLimit > 0, writeHoldLimit <= 600 else { throw ValidationError("--write-hold-limit must be more than 0 and at most 600 seconds") }
        if let allowGroup, !AccessPolicy.groupExists(allowGroup) { throw ValidationError("no group \(allowGroup) on this system") }
    }

    func run() async throws {
        Heap.limitRetainedMemory()
        let logger = loggingOptions.bootstrap(label: "quiesced")
        var timeouts = PhaseTimeouts.defaults
        for setting in self.timeouts { try timeouts.apply(setting) }
        let configuration = CoordinatorConfiguration(
            stateDirectory: stateDir,
            snapshotRoot: snapshotRoot ?? stateDir + "/snapshots",
            defaultProvider: provider,
            copySizeLimit: copySizeLimit << 20,
            writeHoldLimit: .milliseconds(Int64(writeHoldLimit * 1000)),
            timeouts: timeouts,
            maxCallsInFlight: maxCallsInFlight,
            maxSessions: maxSessions,
            sessionIdleTimeout: .milliseconds(Int64(sessionIdleTimeout * 1000)),
            access: AccessPolicy(allowedGroup: allowGroup)
        )
        let connection = try await BusConnection.connect(to: busOptions.bus)
        let coordinator = try Coordinator(connection: connection, configuration: configuration, logger: logger)
        let service = CoordinatorService(coordinator: coordinator, connection: connection)
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}

/// Runs the coordinator until a shutdown signal, then aborts its sessions and leaves the bus.
struct CoordinatorService: Service {
    let coordinator: Coordinator
    let connection: BusConnection

    func run() async throws {
        try await coordinator.start()
        await withGracefulShutdownHandler {
            await connection.waitUntilClosed()
        } onGracefulShutdown: {
            Task {
                await coordinator.stop()
                await connection.close()
            }
        }
    }
}
