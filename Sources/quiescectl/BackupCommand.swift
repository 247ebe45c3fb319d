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
            the data out, complete) and writes the backup document beside the data. A writer \
            marked --require that fails makes the attempt fail; any other writer that fails is \
            recorded and its components are labelled crash-consistent. With --retry, failed \
            attempts are retried as each failing writer's code advises, and every decision is \
            printed with its reason.

            Exit status: 0 every component is application-consistent; 3 the backup was made but \
            some components are only crash-consistent; 1 no backup was made.

            With --exec, your backup tool copies the data instead: `quiescectl backup --volume \
            /srv/notes --exec -- restic -r /backups/repo backup /srv/notes`. The snapshot set is \
            held while the command runs; as root, each snapshot is mounted read-only over its \
            volume in a private mount namespace, so the tool records the real paths (not root: \
            read the snapshots at $QUIESCE_SNAPSHOTS). The command finds the backup document at \
            $QUIESCE_DOCUMENT (back it up too), the set's id at $QUIESCE_SNAPSHOT_SET_ID. Its exit \
            status is the backup's result; quiescectl exits with it when it failed, else 0 or 3 \
            as above.
            """
    )

    /// Prints why no backup was made to standard error; the exit status is 1.
    private static func failure(_ reason: String) -> ExitCode {
        FileHandle.standardError.write(Data("quiescectl: backup failed: \(reason)\n".utf8))
        return ExitCode(1)
    }

    /// Retries of a bare `--retry`.
    static let defaultRetries = 3

    @OptionGroup var busOptions: BusOptions

    @Option(name: .customLong("volume"), help: ArgumentHelp("A directory to back up (repeatable).", valueName: "path"))
    var volumes: [String] = []

    @Option(name: .customLong("to"), help: ArgumentHelp("An empty or new directory for the backup.", valueName: "dir"))
    var destination: String?

    @Flag(name: .customLong("exec"), help: "Hand the held snapshot set to the command after -- (restic, borg, tar ...) instead of copying it.")
    var exec = false

    @Option(name: .customLong("document"), help: ArgumentHelp("With --exec: write the backup document to this new file (else a temporary one).", valueName: "file"))
    var documentPath: String?

    @Option(help: ArgumentHelp("With --exec: how long to wait for another backup's snapshot to finish (Busy).", valueName: "seconds"))
    var busyWait: Double = 600

    @Argument(parsing: .postTerminator, help: ArgumentHelp("With --exec: the command and its arguments.", valueName: "command"))
    var command: [String] = []

    @Option(help: "full, incremental, differential, log, copy or other.")
    var type = "full"

    @Option(help: "The snapshot provider (default: the coordinator's).")
    var provider: String?

    @Option(name: .customLong("require"), help: ArgumentHelp("A writer whose failure fails the backup (repeatable).", valueName: "writer"))
    var required: [String] = []

    @Option(name: .customLong("optional"), help: ArgumentHelp("A writer whose failure is recorded and ignored (repeatable; the default).", valueName: "writer"))
    var optional: [String] = []

    @Option(name: .customLong("retry"), help: ArgumentHelp("Retry failed attempts up to N times (--retry alone: 3).", valueName: "N"))
    var retries: Int = 0

    @Option(help: ArgumentHelp("Seconds before the first retry; doubled each time.", valueName: "seconds"))
    var retryDelay: Double = 10

    @Option(help: ArgumentHelp("Restart a writer's service after this many retryable failures.", valueName: "N"))
    var restartAfter = 2

    @Option(
        name: .customLong("restart-command"),
        help: ArgumentHelp("How to restart a writer's service, e.g. notes='systemctl restart notes' (else its systemd unit).", valueName: "writer=command")
    )
    var restartCommands: [String] = []

    @Flag(help: "Print the backup document as JSON instead of the table.")
    var json = false

    func validate() throws {
        guard !volumes.isEmpty else { throw ValidationError("name at least one --volume") }
        if exec {
            guard !command.isEmpty else { throw ValidationError("--exec needs the command after --, e.g. --exec -- restic backup /srv/data") }
            guard destination == nil else { throw ValidationError("--exec and --to exclude each other: the command copies the data") }
            guard retries == 0 else { throw ValidationError("--retry is not available with --exec (the command runs once)") }
            guard busyWait >= 0, busyWait <= 86_400 else { throw ValidationError("--busy-wait must be 0 to 86400 seconds") }
        } else {
            guard destination != nil else { throw ValidationError("name the backup's directory with --to, or hand the snapshot to a command with --exec -- COMMAND") }
            guard command.isEmpty, documentPath == nil else { throw ValidationError("a command after -- and --document need --exec") }
        }
        guard BackupType(rawValue: type) != nil else {
            throw ValidationError("--type must be one of \(BackupType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let both = Set(required).intersection(optional).first { throw ValidationError("writer \(both) is both --require and --optional") }
        guard (0...100).contains(retries) else { throw ValidationError("--retry must be 0 to 100") }
        guard retryDelay >= 0, retryDelay <= 3600 else { throw ValidationError("--retry-delay must be 0 to 3600 seconds") }
        guard restartAfter >= 1 else { throw ValidationError("--restart-after must be at least 1") }
        _ = try parsedRestartCommands()
    }

    private func parsedRestartCommands() throws -> [String: [String]] {
        var commands: [String: [String]] = [:]
        for setting in restartCommands {
            let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
            let argv = parts.count == 2 ? parts[1].split(separator: " ").map(String.init) : []
            guard parts.count == 2, let executable = argv.first, executable.hasPrefix("/") || !executable.contains("/") else {
                throw ValidationError("--restart-command must look like writer=/path/to/command args")
            }
            commands[parts[0]] = argv[0].hasPrefix("/") ? argv : ["/usr/bin/env"] + argv
        }
        return commands
    }

    private var policies: [String: WriterPolicy] {
        var policies: [String: WriterPolicy] = [:]
        for writer in required { policies[writer] = .required }
        for writer in optional { policies[writer] = .optional }
        return policies
    }

    func run() async throws {
        if exec { return try await runExec() }
        let job = BackupJob(
            volumes: volumes.map(absolutePath), destination: absolutePath(destination!),
            backupType: BackupType(rawValue: type)!, provider: provider, policies: policies,
            retry: retries > 0 ? RetryPolicy(maxRetries: retries, delay: .milliseconds(Int64(retryDelay * 1000)), restartAfter: restartAfter) : nil,
            restartCommands: try parsedRestartCommands()
        )
        let client = try await connect(busOptions)
        let document: BackupDocument
        do {
            document = try await job.run(with: client) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        } catch let error as QuiesceError {
            throw Self.failure(explanation(error, busOptions))
        } catch {
            throw Self.failure("\(error)")
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

    /// `--exec`: the snapshot set held while the command runs.
    private func runExec() async throws {
        let job = ExecBackupJob(
            volumes: volumes.map(absolutePath), command: command, documentPath: documentPath.map(absolutePath),
            backupType: BackupType(rawValue: type)!, provider: provider, policies: policies, busyWait: .milliseconds(Int64(busyWait * 1000))
        )
        let client = try await connect(busOptions)
        let outcome: ExecBackupJob.Outcome
        do {
            outcome = try await job.run(with: client) { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        } catch let error as QuiesceError {
            throw Self.failure(explanation(error, busOptions))
        }
        if json { print(try JSONCoding.encode(outcome.document, pretty: true)) }
        let partial = outcome.document.writers.contains { $0.status.state == .failedAtIdentify || $0.components.contains { $0.consistency == .crashConsistent } }
        FileHandle.standardError.write(Data("backup \(outcome.commandStatus == 0 ? (partial ? "partial" : "succeeded") : "failed"): \(command[0]) exited with \(outcome.commandStatus)\n".utf8))
        if outcome.commandStatus != 0 { throw ExitCode(outcome.commandStatus) }
        if partial { throw ExitCode(3) }
    }
}
