import ArgumentParser
import Foundation
import Quiesce
import QuiesceBus
import QuiesceCommandLine
import QuiesceRequester

/// `quiescectl backup`: a whole application-consistent backup.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up volumes with every writer's cooperation.",
        discussion: """
            Runs the whole sequence (gather metadata, prepare, snapshot with writers frozen, copy \
            the data out, complete) and writes the backup document beside the data. Exit status: \
            0 every component is application-consistent; 3 the backup was made but some \
            components are only crash-consistent (a writer failed); 1 no backup was made.
            """
    )

    @OptionGroup var busOptions: BusOptions

    @Option(name: .customLong("volume"), help: ArgumentHelp("A directory to back up (repeatable).", valueName: "path"))
    var volumes: [String] = []

    @Option(name: .customLong("to"), help: ArgumentHelp("An empty or new directory for the backup.", valueName: "dir"))
    var destination: String

    @Option(help: "full, incremental, differential, log, copy or other.")
    var type = "full"

    @Option(help: "The snapshot provider (default: the coordinator's).")
    var provider: String?

    @Flag(help: "Print the backup document as JSON instead of the table.")
    var json = false

    func validate() throws {
        guard !volumes.isEmpty else { throw ValidationError("name at least one --volume") }
        guard BackupType(rawValue: type) != nil else {
            throw ValidationError("--type must be one of \(BackupType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let cwd = FileManager.default.currentDirectoryPath
        let absolute = { (path: String) in URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: cwd)).standardizedFileURL.path }
        let job = BackupJob(
            volumes: volumes.map(absolute), destination: absolute(destination),
            backupType: BackupType(rawValue: type)!, provider: provider
        )
        let client = try await connect(busOptions)
        let document: BackupDocument
        do {
            document = try await job.run(with: client) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        } catch let error as BusError {
            print("quiescectl: backup failed: \(error.message) (\(error.name))")
            throw ExitCode(1)
        } catch {
            print("quiescectl: backup failed: \(error)")
            throw ExitCode(1)
        }
        if json {
            print(try JSONCoding.encode(document, pretty: true))
        } else {
            print(Table(
                header: ["WRITER", "STATE", "FAILURE", "COMPONENTS", "CONSISTENCY", "MESSAGE"],
                rows: document.writers.map { writer in
                    [
                        writer.metadata.name, writer.status.state.rawValue, writer.status.failure?.rawValue ?? "-",
                        writer.components.map(\.fullPath).joined(separator: ","),
                        Set(writer.components.map(\.consistency.rawValue)).sorted().joined(separator: ","),
                        writer.status.message,
                    ]
                }
            ).rendered)
            print("backup \(document.outcome.rawValue): \(job.destination)/\(BackupJob.documentName)")
        }
        switch document.outcome {
        case .succeeded: return
        case .partial: throw ExitCode(3)
        case .failed: throw ExitCode(1)
        }
    }
}
