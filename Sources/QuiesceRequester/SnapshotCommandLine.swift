import Glibc

/// How `quiescectl backup --exec` runs the backup tool: as root, in a private mount namespace
/// where each volume's snapshot is bind-mounted read-only over the volume's own path, so the
/// tool records the real paths (`restic backup /srv/notes` reads the snapshot of /srv/notes);
/// otherwise as is, with the snapshot paths in its environment.
struct SnapshotCommandLine: Sendable {
    /// The program and arguments to start.
    var argv: [String]
    /// Whether the snapshots are mounted over the volumes for the command.
    var mountsSnapshots: Bool

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
    init(command: [String], snapshots: [String: String], unshare: String = "/usr/bin/unshare") {
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
