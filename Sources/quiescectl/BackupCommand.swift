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

    @Flag(help: "Stream one JSON object per line on standard output (steps, writer failures, copy progress, each writer's result, then the result with the backup document) instead of the table.")
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
        let printer = ProgressPrinter(json: json)
        do {
            try await (exec ? runExec(printer) : runCopy(printer))
        } catch let failure as BackupFailure {
            printer.finish(.result("failed", exitStatus: 1, message: failure.reason))
            FileHandle.standardError.write(Data("quiescectl: backup failed: \(failure.reason)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// Why no backup was made.
    private struct BackupFailure: Error {
        var reason: String
    }

    /// Runs a job, turning its failure into a ``BackupFailure`` with the reason in words.
    private func attempt<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as QuiesceError {
            throw BackupFailure(reason: explanation(error, busOptions))
        } catch let error as CommandFailure {
            throw BackupFailure(reason: error.description)
        }
    }

    /// `--to`: the data copied out of the snapshot set.
    private func runCopy(_ printer: ProgressPrinter) async throws {
        let job = BackupJob(
            volumes: volumes.map(absolutePath), destination: absolutePath(destination!),
            backupType: BackupType(rawValue: type)!, provider: provider, policies: policies,
            retry: retries > 0 ? RetryPolicy(maxRetries: retries, delay: .milliseconds(Int64(retryDelay * 1000)), restartAfter: restartAfter) : nil,
            restartCommands: try parsedRestartCommands()
        )
        let document = try await attempt {
            try await job.run(with: try await connect(busOptions), report: printer.show)
        }
        let status: Int32 = switch document.outcome {
        case .succeeded: 0
        case .partial: 3
        case .failed: 1
        }
        report(document, status: status, to: printer, summary: "backup \(document.outcome.rawValue): \(job.destination)/\(BackupJob.documentName)")
        if status != 0 { throw ExitCode(status) }
    }

    /// `--exec`: the snapshot set held while the command runs.
    private func runExec(_ printer: ProgressPrinter) async throws {
        let job = ExecBackupJob(
            volumes: volumes.map(absolutePath), command: command, documentPath: documentPath.map(absolutePath),
            backupType: BackupType(rawValue: type)!, provider: provider, policies: policies, busyWait: .milliseconds(Int64(busyWait * 1000))
        )
        let outcome = try await attempt {
            try await job.run(with: try await connect(busOptions), report: printer.show)
        }
        let partial = outcome.document.writers.contains { $0.status.state == .failedAtIdentify || $0.components.contains { $0.consistency == .crashConsistent } }
        let status = outcome.commandStatus != 0 ? outcome.commandStatus : partial ? 3 : 0
        let result = outcome.commandStatus != 0 ? "failed" : partial ? "partial" : "succeeded"
        // The command's standard output is quiescectl's: nothing else goes there but --json.
        report(outcome.document, status: status, to: printer, summary: "backup \(result): \(command[0]) exited with \(outcome.commandStatus)", outcome: result, table: false)
        if status != 0 { throw ExitCode(status) }
    }

    /// The writers' results and the outcome: a table on standard output and the summary line
    /// (or the summary alone on standard error, without `table`), or with `--json` a `writer`
    /// line per writer and the `result` line with the document.
    private func report(_ document: BackupDocument, status: Int32, to printer: ProgressPrinter, summary: String, outcome: String? = nil, table: Bool = true) {
        guard json else {
            printer.finish(.result(outcome ?? document.outcome.rawValue, exitStatus: status))
            guard table else {
                FileHandle.standardError.write(Data((summary + "\n").utf8))
                return
            }
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
            print(summary)
            return
        }
        for writer in document.writers { printer.show(writer: writer) }
        var result = ProgressLine.result(outcome ?? document.outcome.rawValue, exitStatus: status, message: summary)
        result.document = document
        printer.finish(result)
    }
}
