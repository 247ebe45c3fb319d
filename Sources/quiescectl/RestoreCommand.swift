import ArgumentParser
import Foundation
import Quiesce
import QuiesceCommandLine
import QuiesceRequester

/// `quiescectl restore`: puts a backup back, with its writers' cooperation.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup made by quiescectl backup onto its volumes.",
        discussion: """
            Sends PreRestore to the backup's writers that are on the bus (each gets the metadata \
            it stored), copies every volume's data back over the volume, then sends PostRestore. \
            Files created since the backup are left in place. Exit status: 0 restored; 1 not \
            restored (a writer refused PreRestore, or the copy failed); 3 restored, but a writer \
            failed PostRestore.
            """
    )

    @OptionGroup var busOptions: BusOptions

    @Option(name: .customLong("from"), help: ArgumentHelp("The folder quiescectl backup wrote.", valueName: "dir"))
    var source: String

    @Flag(help: "Print the writers' status as JSON.")
    var json = false

    func run() async throws {
        let job = RestoreJob(source: URL(fileURLWithPath: source).standardizedFileURL.path)
        let client = try await connect(busOptions)
        let statuses: [WriterStatus]
        do {
            statuses = try await job.run(with: client) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        } catch {
            print("quiescectl: restore failed: \(error)")
            throw ExitCode(1)
        }
        let involved = statuses.filter { $0.lastEvent == .postRestore }
        if json {
            print(try JSONCoding.encode(involved, pretty: true))
        } else {
            print(statusTable(involved))
            print("restore done from \(job.source)")
        }
        if involved.contains(where: \.hasFailed) { throw ExitCode(3) }
    }
}
