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
