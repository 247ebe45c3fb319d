import Glibc
import Subprocess
import SystemPackage

/// How `quiescectl backup --exec` and `quiescectl snapshot mount` run a command over a snapshot
/// set: as root, in a private mount namespace where each volume's snapshot is bind-mounted
/// read-only over the volume's own path, so the tool records the real paths (`restic backup
/// /srv/notes` reads the snapshot of /srv/notes); otherwise as is, with the snapshot paths in
/// its environment.
public struct SnapshotCommandLine: Sendable {
    /// The program and arguments to start.
    public var argv: [String]
    /// Whether the snapshots are mounted over the volumes for the command.
    public var mountsSnapshots: Bool

    /// Mounts each snapshot over its volume, read-only, then runs the command (`$@` after
    /// `--`). Paths are arguments, never part of the script's text.
    static let mountScript = """
        set -e
        while [ "$1" != "--" ]; do
            mount --bind "$1" "$2"
            mount -o remount,bind,ro "$2"
            shift 2
        done
        shift
        exec "$@"
        """

    /// The command line for `command` over `snapshots` (volume → where its snapshot is read).
    public init(command: [String], snapshots: [String: String], unshare: String = "/usr/bin/unshare") {
        guard geteuid() == 0, access(unshare, X_OK) == 0, !snapshots.isEmpty else {
            argv = command
            mountsSnapshots = false
            return
        }
        let pairs = snapshots.sorted { $0.key < $1.key }.flatMap { [$0.value, $0.key] }
        argv = [unshare, "--mount", "--propagation", "private", "/bin/sh", "-c", Self.mountScript, "quiesce-exec"] + pairs + ["--"] + command
        mountsSnapshots = true
    }
}

extension SnapshotCommandLine {
    /// Runs the command with this process's standard input, output and error, `environment`
    /// added to its own; returns its exit status (128 + the signal's number when a signal ended it).
    public func run(environment: [String: String]) async throws -> Int32 {
        let updates = Dictionary(uniqueKeysWithValues: environment.map { (Environment.Key(stringLiteral: $0.key), Optional($0.value)) })
        let result = try await Subprocess.run(
            argv[0].hasPrefix("/") ? .path(FilePath(argv[0])) : .name(argv[0]), arguments: Arguments(Array(argv.dropFirst())),
            environment: .inherit.updating(updates),
            input: .fileDescriptor(.standardInput, closeAfterSpawningProcess: false),
            output: .fileDescriptor(.standardOutput, closeAfterSpawningProcess: false),
            error: .fileDescriptor(.standardError, closeAfterSpawningProcess: false)
        )
        switch result.terminationStatus {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        }
    }

    /// The environment a command over `snapshots` gets: `QUIESCE_SNAPSHOT_SET_ID`,
    /// `QUIESCE_SNAPSHOTS` (JSON: volume → snapshot path), `QUIESCE_VOLUMES` (one per line) and
    /// `QUIESCE_SNAPSHOTS_MOUNTED` (`1` or `0`).
    public func environment(setId: String, snapshots: [String: String]) throws -> [String: String] {
        [
            "QUIESCE_SNAPSHOT_SET_ID": setId,
            "QUIESCE_SNAPSHOTS": try JSONCoding.encode(snapshots),
            "QUIESCE_VOLUMES": snapshots.keys.sorted().joined(separator: "\n"),
            "QUIESCE_SNAPSHOTS_MOUNTED": mountsSnapshots ? "1" : "0",
        ]
    }
}
