import ArgumentParser

/// The command-line requester and admin tool.
@main
struct Quiescectl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiescectl",
        abstract: "List Quiesce writers and make application-consistent backups.",
        version: "0.1.0",
        subcommands: [WritersCommand.self, BackupCommand.self]
    )
}
