import ArgumentParser
import Quiesce
import QuiesceCommandLine
import QuiesceWriter

/// `flaky-writer`: a writer that misbehaves on purpose.
@main
struct FlakyWriterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flaky-writer",
        abstract: "A Quiesce writer that vetoes, hangs or crashes at a chosen event (for demos and tests).",
        discussion: "Events are named as on the bus: PrepareForBackup, PrepareForSnapshot, Freeze, Thaw, PostSnapshot, Abort, BackupComplete, BackupShutdown."
    )

    @OptionGroup var busOptions: BusOptions
    @OptionGroup var loggingOptions: LoggingOptions

    @Option(help: "The writer's name.")
    var name = "flaky"

    @Option(help: ArgumentHelp("The directory holding the writer's data (its one component).", valueName: "dir"))
    var data: String

    @Option(help: "front-end, back-end or system.")
    var level = "back-end"

    @Option(help: ArgumentHelp("Misbehave at this event.", valueName: "event"))
    var at: String?

    @Option(help: ArgumentHelp("Another directory of the writer's data; PrepareForSnapshot vetoes inconsistent-snapshot unless both are in the snapshot set.", valueName: "dir"))
    var also: String?

    @Option(help: "veto (setWriterFailure with --code), false (return false), throw, hang, crash (SIGKILL), slow (take --delay-ms, then succeed) or component (a component failure with --code and --message).")
    var mode = "veto"

    @Option(help: "How long --mode slow takes, in milliseconds.")
    var delayMs = 1000

    @Option(help: ArgumentHelp("The writer's freeze timeout: the lease after which it thaws itself.", valueName: "seconds"))
    var freezeTimeout: Double = 60

    @Option(help: "The failure code of the veto.")
    var code = "retryable"

    @Option(help: "The veto's message.")
    var message = "flaky-writer vetoed on purpose"

    @Option(help: "Misbehave this many times, then succeed (0: every time).")
    var times = 0


    func validate() throws {
        if let at, WriterEvent(rawValue: at) == nil {
            throw ValidationError("unknown event \(at); use one of \(WriterEvent.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard FailureCode(rawValue: code) != nil else { throw ValidationError("unknown failure code \(code)") }
        guard ApplicationLevel(rawValue: level) != nil else { throw ValidationError("unknown level \(level)") }
        guard data.hasPrefix("/"), also?.hasPrefix("/") ?? true else { throw ValidationError("--data and --also must be absolute paths") }
        guard freezeTimeout > 0, freezeTimeout <= 3600 else { throw ValidationError("--freeze-timeout must be 0 to 3600 seconds") }
        guard delayMs >= 0 else { throw ValidationError("--delay-ms must not be negative") }
        guard MisbehaviourMode(rawValue: mode) != nil else {
            throw ValidationError("--mode must be one of \(MisbehaviourMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let logger = loggingOptions.bootstrap(label: "flaky-writer")
        let misbehaviour = Misbehaviour(
            event: at.flatMap(WriterEvent.init(rawValue:)), mode: MisbehaviourMode(rawValue: mode)!,
            code: FailureCode(rawValue: code)!, message: message, times: times, delay: .milliseconds(delayMs)
        )
        let writer = try FlakyWriter(
            name: name, level: ApplicationLevel(rawValue: level)!, freezeTimeout: .milliseconds(Int64(freezeTimeout * 1000)),
            dataDirectory: data, otherDirectory: also, misbehaviour: misbehaviour, logger: logger
        )
        try await WriterService(writer: writer, bus: busOptions.bus, logger: logger).runUntilTerminated()
    }
}
