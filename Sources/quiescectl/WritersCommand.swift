import ArgumentParser
import Quiesce
import QuiesceCommandLine
import QuiesceRequester

/// `quiescectl writers`: every writer and its state, like `vssadmin list writers`.
struct WritersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "writers",
        abstract: "List the writers on the bus with their state and last error."
    )

    @OptionGroup var busOptions: BusOptions

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() async throws {
        let client = try await connect(busOptions)
        let writers = try await client.listWriters()
        if json {
            print(try JSONCoding.encode(writers, pretty: true))
            return
        }
        guard !writers.isEmpty else {
            print("No writers on \(busOptions.bus).")
            return
        }
        print(Table(
            header: ["NAME", "CLASS ID", "INSTANCE ID", "STATE", "LAST ERROR"],
            rows: writers.map { [$0.name, $0.classId, $0.instanceId, $0.state, $0.lastError] }
        ).rendered)
    }
}

/// Connects to the coordinator's bus, turning failure into a message that says what to check.
func connect(_ options: BusOptions) async throws -> QuiesceClient {
    do {
        return try await QuiesceClient.connect(to: options.bus)
    } catch {
        throw ValidationError("cannot connect to \(options.bus): \(error)")
    }
}
