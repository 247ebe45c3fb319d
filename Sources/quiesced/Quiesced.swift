import ArgumentParser
import Foundation
import Logging
import QuiesceBus
import QuiesceCommandLine
import QuiesceCoordinator
import QuiesceFiles
import QuiesceProtocol
import QuiesceServiceBus
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

    @Option(help: ArgumentHelp("The configuration file (JSON; flags override it; default $CONFIGURATION_DIRECTORY/quiesced.json under systemd, else /etc/quiesce/quiesced.json).", valueName: "path"))
    var config: String?

    @Option(help: ArgumentHelp("Where state that outlives a session lives (default $STATE_DIRECTORY under systemd, else /var/lib/quiesce).", valueName: "dir"))
    var stateDir: String?

    @Option(help: ArgumentHelp("Where the copy provider puts snapshot sets (default: <state-dir>/snapshots); not on a volume you back up.", valueName: "dir"))
    var snapshotRoot: String?

    @Option(help: ArgumentHelp("The provider for every volume when a requester names none; auto (the default): one per volume, the first of btrfs, reflink, freeze, command and copy that can take it.", valueName: "name"))
    var provider: String?

    @Option(help: ArgumentHelp("The largest volume the copy provider takes unless named (default 256).", valueName: "MiB"))
    var copySizeLimit: Int64?

    @Option(help: ArgumentHelp("The longest the snapshot step may keep writers frozen; past it the set fails (default 10).", valueName: "seconds"))
    var writeHoldLimit: Double?

    @Option(help: ArgumentHelp("The freeze provider's device-snapshot command (an absolute path; arguments in the configuration file).", valueName: "path"))
    var freezeCommand: String?

    @Option(help: ArgumentHelp("The command provider's snapshot command (an absolute path).", valueName: "path"))
    var snapshotCommand: String?

    @Option(help: ArgumentHelp("The quiesce-freeze helper (default: beside quiesced).", valueName: "path"))
    var freezeHelper: String?

    @Option(
        name: .customLong("timeout"),
        help: ArgumentHelp("Per-event timeout in seconds, e.g. freeze=5 (repeatable).", valueName: "event=seconds")
    )
    var timeouts: [String] = []

    @Option(help: "The most writer calls in flight at once (default 120; the system bus allows 128 pending replies per connection).")
    var maxCallsInFlight: Int?

    @Option(help: "The most sessions open at once (default 16).")
    var maxSessions: Int?

    @Option(help: ArgumentHelp("Abort and close a session whose requester has not called it for this long (default 1800).", valueName: "seconds"))
    var sessionIdleTimeout: Double?

    @Option(help: ArgumentHelp("A group whose members may start backup sessions (root and quiesced's own user always may); default quiesce, the group the shipped bus policy allows, when it exists; '' for none.", valueName: "group"))
    var allowGroup: String?

    @Option(help: "The most closed sessions kept in the history (default 200).")
    var historyLimit: Int?

    func validate() throws {
        do { _ = try configuration() } catch { throw ValidationError(error.description) }
    }

    /// The configuration: each flag given, else the file's value, else the default.
    func configuration() throws(QuiesceError) -> CoordinatorConfiguration {
        let systemd = SystemdDirectories(environment: ProcessInfo.processInfo.environment)
        let file = try ConfigurationFile.load(config ?? systemd.configurationFile ?? ConfigurationFile.defaultPath, required: config != nil)
        var timeouts = PhaseTimeouts.defaults
        for (event, seconds) in (file.timeouts ?? [:]).sorted(by: { $0.key < $1.key }) { try timeouts.apply("\(event)=\(seconds)") }
        for setting in self.timeouts { try timeouts.apply(setting) }
        let stateDirectory = stateDir ?? file.stateDir ?? systemd.stateDirectory ?? "/var/lib/quiesce"
        let snapshotRoot = self.snapshotRoot ?? file.snapshotRoot ?? stateDirectory + "/snapshots"
        let provider = self.provider ?? file.provider
        let copyLimit = copySizeLimit ?? file.copySizeLimitMib ?? 256
        let holdLimit = writeHoldLimit ?? file.writeHoldLimitSeconds ?? 10
        let calls = maxCallsInFlight ?? file.maxCallsInFlight ?? 120
        let sessions = maxSessions ?? file.maxSessions ?? 16
        let idle = sessionIdleTimeout ?? file.sessionIdleTimeoutSeconds ?? 1800
        let named = allowGroup ?? file.allowGroup
        let group = named.map { $0.isEmpty ? nil : $0 } ?? (AccessPolicy.groupExists(AccessPolicy.defaultGroup) ? AccessPolicy.defaultGroup : nil)
        let history = historyLimit ?? file.historyLimit ?? 200
        guard stateDirectory.hasPrefix("/"), snapshotRoot.hasPrefix("/") else { throw QuiesceError(.invalidArgument, "the state directory and the snapshot root must be absolute paths") }
        guard (1...1024).contains(calls) else { throw QuiesceError(.invalidArgument, "max-calls-in-flight must be 1 to 1024") }
        guard (1...1024).contains(sessions) else { throw QuiesceError(.invalidArgument, "max-sessions must be 1 to 1024") }
        guard (1...100_000).contains(history) else { throw QuiesceError(.invalidArgument, "history-limit must be 1 to 100000") }
        guard idle >= 1 else { throw QuiesceError(.invalidArgument, "the session idle timeout must be at least 1 second") }
        guard copyLimit >= 0 else { throw QuiesceError(.invalidArgument, "the copy size limit must not be negative") }
        guard holdLimit > 0, holdLimit <= 600 else { throw QuiesceError(.invalidArgument, "the write-hold limit must be more than 0 and at most 600 seconds") }
        if let group, !AccessPolicy.groupExists(group) { throw QuiesceError(.invalidArgument, "no group \(group) on this system") }
        return CoordinatorConfiguration(
            stateDirectory: stateDirectory,
            snapshotRoot: snapshotRoot,
            defaultProvider: provider == "auto" ? nil : provider,
            copySizeLimit: copyLimit << 20,
            writeHoldLimit: .milliseconds(Int64(holdLimit * 1000)),
            freezeCommand: try (freezeCommand.map { [$0] } ?? file.freezeCommand).map(SnapshotCommand.init),
            snapshotCommand: try (snapshotCommand.map { [$0] } ?? file.snapshotCommand).map(SnapshotCommand.init),
            freezeHelper: freezeHelper ?? file.freezeHelper ?? SnapshotCommand.defaultHelper,
            timeouts: timeouts,
            maxCallsInFlight: calls,
            maxSessions: sessions,
            sessionIdleTimeout: .milliseconds(Int64(idle * 1000)),
            access: AccessPolicy(allowedGroup: group),
            historyLimit: history
        )
    }

    func run() async throws {
        Heap.limitRetainedMemory()
        let logger = loggingOptions.bootstrap(label: "quiesced")
        let configuration = try configuration()
        let connection = try await ServingConnection.connect(to: busOptions.bus)
        let coordinator = try Coordinator(connection: connection, configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: coordinator)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}
