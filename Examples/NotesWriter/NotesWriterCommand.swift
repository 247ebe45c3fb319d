import ArgumentParser
import Foundation
import QuiesceCommandLine
import QuiesceWriter

/// `notes-writer`: the SQLite notes writer, optionally with a workload that keeps writing.
@main
struct NotesWriterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notes-writer",
        abstract: "A Quiesce writer for an SQLite notes database (holds writes while frozen)."
    )

    @OptionGroup var busOptions: BusOptions
    @OptionGroup var loggingOptions: LoggingOptions

    @Option(help: ArgumentHelp("The SQLite database (created in WAL mode if missing).", valueName: "path"))
    var database: String

    @Option(help: "The writer's name: its bus name is org.quiesce.Writer.<name>.")
    var name = "notes"

    @Flag(help: "Keep inserting notes, as a busy application would.")
    var workload = false

    @Option(help: "Milliseconds between the workload's inserts.")
    var intervalMs = 10

    func validate() throws {
        guard database.hasPrefix("/") else { throw ValidationError("--database must be an absolute path") }
        guard (1...60_000).contains(intervalMs) else { throw ValidationError("--interval-ms must be 1 to 60000") }
    }

    func run() async throws {
        let logger = loggingOptions.bootstrap(label: "notes-writer")
        let writer = try NotesWriter(
            database: database, name: name,
            workload: workload ? NotesWorkload(database: database, interval: .milliseconds(intervalMs)) : nil,
            logger: logger
        )
        try await writer.open()
        try await WriterService(writer: writer, bus: busOptions.bus, logger: logger).runUntilTerminated()
        await writer.close()
    }
}
