import ArgumentParser
import QuiesceCommandLine

/// The command-line requester and admin tool.
@main
struct Quiescectl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiescectl",
        abstract: "List Quiesce writers, make application-consistent backups and restore them.",
        version: "0.1.0",
        subcommands: [WritersCommand.self, ProvidersCommand.self, BackupCommand.self, RestoreCommand.self, StatusCommand.self, HistoryCommand.self, SnapshotCommand.self]
    )

    /// `--retry` may come without a value (`--retry[=N]`): a bare one means three retries.
    static func main() async {
        if let problem = UTF8Arguments.problem {
            exit(withError: ValidationError(problem))
        }
        let arguments = CommandLine.arguments.dropFirst().map { $0 == "--retry" ? "--retry=\(BackupCommand.defaultRetries)" : $0 }
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
