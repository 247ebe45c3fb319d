import ArgumentParser
import QuiesceCommandLine

/// The command-line requester and admin tool. The bus options go anywhere on the line.
@main
struct Quiescectl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiescectl",
        abstract: "List Quiesce writers, make application-consistent backups and restore them.",
        discussion: """
            The bus options (--system, the default; --user; --address=ADDRESS) go anywhere on the \
            line. Errors go to standard error.

            Exit status: 0 done; 1 it failed (the reason on standard error); 64 the command \
            line is wrong. backup, restore and snapshot create also exit 3 when the backup was \
            made but some components are only crash-consistent (or a writer failed the \
            restore); backup --exec and snapshot mount pass on their command's failing status.
            """,
        version: "0.1.0",
        subcommands: [WritersCommand.self, ProvidersCommand.self, BackupCommand.self, RestoreCommand.self, StatusCommand.self, HistoryCommand.self, SnapshotCommand.self]
    )

    /// Every command's subcommand names, by the words that lead to it ("" for quiescectl).
    static let commandNames: [String: [String]] = {
        var names: [String: [String]] = [:]
        func walk(_ command: any ParsableCommand.Type, _ path: [String]) {
            let subcommands = command.configuration.subcommands
            guard !subcommands.isEmpty else { return }
            names[path.joined(separator: " ")] = subcommands.map { $0.configuration.commandName ?? String(describing: $0).lowercased() }
            for subcommand in subcommands { walk(subcommand, path + [subcommand.configuration.commandName ?? String(describing: subcommand).lowercased()]) }
        }
        walk(Quiescectl.self, [])
        return names
    }()

    /// `--retry` may come without a value (`--retry[=N]`): a bare one means three retries.
    static func main() async {
        if let problem = UTF8Arguments.problem {
            exit(withError: ValidationError(problem))
        }
        let given = CommandLine.arguments.dropFirst().map { $0 == "--retry" ? "--retry=\(BackupCommand.defaultRetries)" : $0 }
        let arguments = BusOptions.movedAfterCommands(given, commands: commandNames)
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
