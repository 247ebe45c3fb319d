import ArgumentParser
import Foundation
import Quiesce
import QuiesceCommandLine
import QuiesceRequester

/// `quiescectl snapshot`: snapshot sets that outlive their session (VSS's persistent shadow
/// copies, `vssadmin create/list/delete shadows`).
struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Make, list, use and delete snapshot sets that quiesced keeps after the session.",
        discussion: """
            A kept set is made like a backup's (every writer prepares and freezes; the writers are \
            told backup type copy, so nothing is truncated) and stays where its provider put it, \
            across restarts of quiesced, until it expires or is deleted. Its snapshots are \
            readable by the user who made it and root.
            """,
        subcommands: [Create.self, List.self, Paths.self, Mount.self, Delete.self]
    )

    /// `quiescectl snapshot create`.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an application-consistent snapshot set and keep it.",
            discussion: "Prints the set's id on standard output (the steps on standard error). Exit status: 0 every component application-consistent; 3 kept, but some only crash-consistent; 1 none made."
        )

        @OptionGroup var busOptions: BusOptions

        @Option(name: .customLong("volume"), help: ArgumentHelp("A directory to snapshot (repeatable).", valueName: "path"))
        var volumes: [String] = []

        @Option(help: ArgumentHelp("How long quiesced keeps it: 90m, 12h, 7d (at most 366d).", valueName: "duration"))
        var keep = KeepDuration(argument: "1d")!

        @Option(help: "The backup type the writers are told: copy (default; nothing truncated), full, ...")
        var type = "copy"

        @Option(help: "The snapshot provider (default: the coordinator's).")
        var provider: String?

        @Option(name: .customLong("require"), help: ArgumentHelp("A writer whose failure fails the snapshot (repeatable).", valueName: "writer"))
        var required: [String] = []

        @Flag(help: "Stream one JSON object per line on standard output (steps, then the result with the kept set) instead of the id.")
        var json = false

        func validate() throws {
            guard !volumes.isEmpty else { throw ValidationError("name at least one --volume") }
            guard BackupType(rawValue: type) != nil else { throw ValidationError("--type must be one of \(BackupType.allCases.map(\.rawValue).joined(separator: ", "))") }
        }

        func run() async throws {
            let job = KeptSnapshotJob(
                volumes: volumes.map(absolutePath), keep: keep.duration, backupType: BackupType(rawValue: type)!, provider: provider,
                policies: Dictionary(uniqueKeysWithValues: required.map { ($0, WriterPolicy.required) })
            )
            let client = try await connect(busOptions)
            let printer = ProgressPrinter(json: json)
            let set: KeptSnapshotSet
            do {
                set = try await explained(busOptions) { try await job.run(with: client, report: printer.show) }
            } catch {
                printer.finish(.result("failed", exitStatus: 1, message: "\(error)"))
                throw error
            }
            let status: Int32 = set.consistency == .succeeded ? 0 : 3
            var result = ProgressLine.result(set.consistency.rawValue, exitStatus: status, message: "snapshot set \(set.id) kept until \(DateText.local(set.expires))")
            result.keptSet = set
            printer.finish(result)
            if !json { print(set.id) }
            if status != 0 {
                FileHandle.standardError.write(Data("snapshot set \(set.id) kept, but some components are only crash-consistent (quiescectl snapshot list shows which)\n".utf8))
                throw ExitCode(status)
            }
        }
    }

    /// `quiescectl snapshot list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the kept snapshot sets, oldest first.")

        @OptionGroup var busOptions: BusOptions

        @Flag(help: "Print JSON for scripts.")
        var json = false

        func run() async throws {
            let client = try await connect(busOptions)
            let sets = try await explained(busOptions) { try await client.keptSnapshotSets() }
            if json {
                print(try JSONCoding.encode(sets, pretty: true))
            } else if sets.isEmpty {
                print("No kept snapshot sets.")
            } else {
                print(Table(
                    header: ["SNAPSHOT SET", "CREATED", "EXPIRES", "UID", "SIZE", "PROVIDER", "VOLUMES", "CONSISTENCY", "WRITERS"],
                    rows: sets.map { set in
                        let crash = set.writers.filter { $0.value.values.contains(.crashConsistent) }.keys.sorted()
                        return [
                            set.id, DateText.local(set.created), DateText.local(set.expires), String(set.ownerUid),
                            "\(megabytes(set.bytes)), \(set.files) files", Set(set.volumes.compactMap(\.provider)).sorted().joined(separator: "+"),
                            set.volumes.map(\.volume).joined(separator: ","),
                            set.consistency == .succeeded ? "application-consistent" : "crash-consistent: " + crash.joined(separator: ","),
                            set.writers.keys.sorted().joined(separator: ","),
                        ]
                    }
                ).rendered)
            }
        }
    }

    /// `quiescectl snapshot paths`.
    struct Paths: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print where each volume's snapshot of a kept set is read.",
            discussion: "One line per volume: the volume, a tab, the snapshot's path (for scripts: `while IFS=$'\\t' read volume path; do ...`)."
        )

        @OptionGroup var busOptions: BusOptions

        @Argument(help: "The kept set's id.")
        var id: String

        func run() async throws {
            let set = try await keptSet(id, busOptions)
            for volume in set.volumes { print("\(volume.volume)\t\(volume.snapshotPath)") }
        }
    }

    /// `quiescectl snapshot mount`.
    struct Mount: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a command with a kept set's snapshots mounted over their volumes.",
            discussion: """
                As root, the command runs in a private mount namespace where each snapshot is \
                mounted read-only over its volume (`quiescectl snapshot mount ID -- restic backup \
                /srv/notes`); nothing else on the machine sees the mounts. Not root, it runs as \
                is and reads the snapshots at $QUIESCE_SNAPSHOTS (JSON: volume → path). Exits \
                with the command's status.
                """
        )

        @OptionGroup var busOptions: BusOptions

        @Argument(help: "The kept set's id.")
        var id: String

        @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --.", valueName: "command"))
        var command: [String] = []

        func validate() throws {
            guard !command.isEmpty else { throw ValidationError("name the command after --, e.g. -- tar -cf /backups/notes.tar /srv/notes") }
        }

        func run() async throws {
            let set = try await keptSet(id, busOptions)
            let snapshots = Dictionary(uniqueKeysWithValues: set.volumes.map { ($0.volume, $0.snapshotPath) })
            let line = SnapshotCommandLine(command: command, snapshots: snapshots)
            if !line.mountsSnapshots {
                FileHandle.standardError.write(Data("quiescectl: not root: the snapshots are not mounted over the volumes; read them at $QUIESCE_SNAPSHOTS\n".utf8))
            }
            let status = try await line.run(environment: try line.environment(setId: set.id, snapshots: snapshots))
            if status != 0 { throw ExitCode(status) }
        }
    }

    /// `quiescectl snapshot delete`.
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete kept snapshot sets now (their owner and root may).")

        @OptionGroup var busOptions: BusOptions

        @Argument(help: "The kept sets' ids.")
        var ids: [String]

        func validate() throws {
            guard !ids.isEmpty else { throw ValidationError("name the snapshot set to delete (quiescectl snapshot list shows them)") }
        }

        func run() async throws {
            let client = try await connect(busOptions)
            for id in ids {
                try await explained(busOptions) { try await client.deleteSnapshotSet(id) }
                print("deleted snapshot set \(id)")
            }
        }
    }
}

/// The kept set `id`, or a message naming the sets there are.
private func keptSet(_ id: String, _ options: BusOptions) async throws -> KeptSnapshotSet {
    let client = try await connect(options)
    let sets = try await explained(options) { try await client.keptSnapshotSets() }
    guard let set = sets.first(where: { $0.id == id }) else {
        throw CommandFailure("no kept snapshot set \(id)" + (sets.isEmpty ? "; there are none" : "; quiescectl snapshot list shows the \(sets.count) there are"))
    }
    return set
}

/// Bytes as MiB with one decimal.
private func megabytes(_ bytes: Int64) -> String {
    String(format: "%.1f MiB", Double(bytes) / 1_048_576)
}
