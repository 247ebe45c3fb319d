import ArgumentParser
import Quiesce
import QuiesceCommandLine
import QuiesceBus
import QuiesceRequester

/// `quiescectl writers`: every writer and its state, like `vssadmin list writers`.
struct WritersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "writers",
        abstract: "List the writers on the bus with their state, last error and last failure.",
        discussion: """
            STATE and LAST ERROR are what each writer says now (a writer is stable again once its \
            session ends); LAST FAILURE is the last session in quiesced's history it failed in: \
            the code, the event, when, and its message (`quiescectl history SESSION` has the rest). \
            Reading the history takes the rights to run backups; without them it shows as \
            unknown.
            """
    )

    @OptionGroup var busOptions: BusOptions

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() async throws {
        let client = try await connect(busOptions)
        var writers = try await explained(busOptions) { try await client.listWriters() }
        let failures = try? await LastFailure.byWriter(in: client.history(count: 1000))
        for index in writers.indices { writers[index].lastFailure = failures?[writers[index].name] }
        if json {
            print(try JSONCoding.encode(writers, pretty: true))
            return
        }
        guard !writers.isEmpty else {
            print("No writers on \(busOptions.bus).")
            return
        }
        print(Table(
            header: ["NAME", "CLASS ID", "INSTANCE ID", "STATE", "LAST ERROR", "LAST FAILURE"],
            rows: writers.map { writer in
                let last = failures == nil ? "unknown (history not readable)" : writer.lastFailure.map { failure in
                    "\(failure.failure) at \(failure.event?.methodName ?? "?"), \(DateText.local(failure.when)): \(failure.message)"
                } ?? "-"
                return [writer.name, writer.classId, writer.instanceId, writer.state, writer.lastError, last]
            }
        ).rendered)
    }
}

/// A failure of a command, printed as `Error: <message>` (with no usage line) and exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Connects to the coordinator's bus, turning failure into a message that says what to check.
func connect(_ options: BusOptions) async throws -> QuiesceClient {
    do {
        return try await QuiesceClient.connect(to: options.bus)
    } catch {
        throw CommandFailure("cannot connect to \(options.bus): \(error)")
    }
}

/// Runs `body`, explaining the usual reason a call fails: quiesced is not running on that bus.
func explained<T>(_ options: BusOptions, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as QuiesceError {
        throw CommandFailure(explanation(error, options))
    }
}

/// A Quiesce error in words for the command line: the message, with the error's name unless it
/// is a failure of our own, and what to check when quiesced is not running.
func explanation(_ error: QuiesceError, _ options: BusOptions) -> String {
    switch error.code {
    case .peerGone: "quiesced is not running on \(options.bus) (\(error.message)); start it, or choose the bus with --system, --user or --address"
    case .failed: error.message
    default: "\(error.message) (\(error.code.rawValue))"
    }
}
