import ArgumentParser
import Foundation
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

    @Option(help: "The failure code of the veto.")
    var code = "retryable"

    @Option(help: "The veto's message.")
    var message = "flaky-writer vetoed on purpose"

    @Option(help: "Misbehave this many times, then succeed (0: every time).")
    var times = 0

    @Flag(help: "Hang in the handler instead of vetoing.")
    var hang = false

    @Flag(help: "Kill the process with SIGKILL in the handler instead of vetoing.")
    var crash = false

    func validate() throws {
        if let at, WriterEvent(rawValue: at) == nil {
            throw ValidationError("unknown event \(at); use one of \(WriterEvent.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard FailureCode(rawValue: code) != nil else { throw ValidationError("unknown failure code \(code)") }
        guard ApplicationLevel(rawValue: level) != nil else { throw ValidationError("unknown level \(level)") }
        guard data.hasPrefix("/") else { throw ValidationError("--data must be an absolute path") }
        guard !(hang && crash) else { throw ValidationError("choose --hang or --crash, not both") }
    }

    func run() async throws {
        let logger = loggingOptions.bootstrap(label: "flaky-writer")
        let misbehaviour = Misbehaviour(
            event: at.flatMap(WriterEvent.init(rawValue:)), code: FailureCode(rawValue: code)!, message: message,
            times: times, hang: hang, crash: crash
        )
        let writer = FlakyWriter(name: name, level: ApplicationLevel(rawValue: level)!, dataDirectory: data, misbehaviour: misbehaviour)
        try await WriterService(writer: writer, bus: busOptions.bus, logger: logger).runUntilTerminated()
    }
}
