import Foundation
import QuiesceTestSupport

/// A PostgreSQL 15 server from Debian's package (postgresql-15), made by a test in its own
/// folder: `initdb`, then `postgres` on a Unix socket only. As root (CI) the server runs as the
/// package's `postgres` user, as PostgreSQL requires.
struct PostgresServer: Sendable {
    static let bin = "/usr/lib/postgresql/15/bin"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: bin + "/postgres") }

    let harness: Harness
    let dataDirectory: String
    /// The socket's directory (and the name of its log file's folder).
    let socketDirectory: String

    /// A libpq connection string for this server.
    var connection: String { "host=\(socketDirectory) user=postgres dbname=postgres" }

    /// Runs `program` as the server's user, with no descriptor but standard input, output and
    /// error (nothing it starts may hold the test's pipes, or the descriptor through which
    /// Foundation learns that its child ended, open).
    private static func asOwner(_ harness: Harness, _ program: String, _ arguments: [String]) async throws -> CommandResult {
        let command = Harness.isRoot ? ["/usr/sbin/runuser", "-u", "postgres", "--", program] + arguments : [program] + arguments
        return try await harness.run("/usr/bin/python3", ["-c", "import os, sys; os.closerange(3, 65536); os.execv(sys.argv[1], sys.argv[1:])"] + command)
    }

    /// Gives `paths` (recursively) to the server's user, so that it can use them.
    static func own(_ harness: Harness, _ paths: [String]) async throws {
        guard Harness.isRoot else { return }
        _ = try await harness.run("/usr/bin/chmod", ["o+x", harness.bus.directory])
        let result = try await harness.run("/usr/bin/chown", ["-R", "postgres:postgres"] + paths)
        guard result.status == 0 else { throw TestFailure("chown failed: \(result.stderr)") }
    }

    /// `initdb` in `dataDirectory` (its parent must exist), trust authentication, with `settings`
    /// appended to postgresql.conf.
    static func create(_ harness: Harness, dataDirectory: String, socketDirectory: String, settings: [String] = []) async throws -> PostgresServer {
        let parent = URL(fileURLWithPath: dataDirectory).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        try await own(harness, [parent, socketDirectory])
        let made = try await asOwner(harness, bin + "/initdb", ["-D", dataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions", "--wal-segsize=1"])
        guard made.status == 0 else { throw TestFailure("initdb failed: \(made.stderr)") }
        let server = PostgresServer(harness: harness, dataDirectory: dataDirectory, socketDirectory: socketDirectory)
        try server.configure(["listen_addresses = ''", "unix_socket_directories = '\(socketDirectory)'", "shared_buffers = 16MB", "min_wal_size = 4MB", "max_wal_size = 32MB"] + settings)
        return server
    }

    /// The same server's files somewhere else (a restored copy), on its own socket.
    func restored(at dataDirectory: String, socketDirectory: String) async throws -> PostgresServer {
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        try await Self.own(harness, [socketDirectory])
        // The restore made the directories above the data directory for root only.
        var parent = URL(fileURLWithPath: dataDirectory).deletingLastPathComponent().path
        while parent.hasPrefix(harness.bus.directory + "/") {
            _ = try await harness.run("/usr/bin/chmod", ["o+x", parent])
            parent = URL(fileURLWithPath: parent).deletingLastPathComponent().path
        }
        let server = PostgresServer(harness: harness, dataDirectory: dataDirectory, socketDirectory: socketDirectory)
        try server.configure(["unix_socket_directories = '\(socketDirectory)'", "archive_mode = off"])
        return server
    }

    /// Appends settings to postgresql.conf (the last one wins).
    func configure(_ settings: [String]) throws {
        let file = FileHandle(forWritingAtPath: dataDirectory + "/postgresql.conf")!
        file.seekToEndOfFile()
        file.write(Data((settings.joined(separator: "\n") + "\n").utf8))
        try file.close()
    }

    /// Starts `postgres` itself as a process of the test (as root, setpriv makes it the
    /// `postgres` user without a process in between), so that the harness stops it whatever
    /// happens to the test; waits until it accepts connections (after any recovery).
    @discardableResult
    func start() async throws -> ChildProcess {
        let command = [Self.bin + "/postgres", "-D", dataDirectory]
        let server = try ChildProcess(
            executable: Harness.isRoot ? "/usr/bin/setpriv" : command[0],
            arguments: Harness.isRoot ? ["--reuid=postgres", "--regid=postgres", "--init-groups"] + command : Array(command.dropFirst()),
            log: socketDirectory + "/server.log"
        )
        harness.adopt(server, as: "postgres-\(socketDirectory.split(separator: "/").last ?? "")")
        try await Harness.waitUntil("PostgreSQL accepts connections", timeout: .seconds(60)) {
            guard server.isRunning else { throw TestFailure("postgres exited: \(server.output.suffix(2000))") }
            return (try? await harness.run(Self.bin + "/pg_isready", ["-q", "-h", socketDirectory]))?.status == 0
        }
        return server
    }

    /// Stops the server (fast shutdown) and waits for it; nothing if it is not running.
    func stop() async throws {
        _ = try await Self.asOwner(harness, Self.bin + "/pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "stop"])
    }

    /// Runs SQL with psql; its output, unaligned and without headers.
    @discardableResult
    func sql(_ statement: String) async throws -> String {
        let result = try await harness.run(Self.bin + "/psql", ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", socketDirectory, "-U", "postgres", "-d", "postgres", "-c", statement])
        guard result.status == 0 else { throw TestFailure("psql failed: \(statement): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A pgbench client inserting into `ticks` (`id`, `at` the insert's time) as fast as it can
    /// over two connections, beside pgbench's own tables (scale 1): the workload a backup runs under.
    func startWorkload(_ label: String) async throws -> ChildProcess {
        try await sql("CREATE TABLE IF NOT EXISTS ticks(id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(), pad text)")
        let initialized = try await harness.run(Self.bin + "/pgbench", ["-i", "-s", "1", "-q", "-h", socketDirectory, "-U", "postgres", "postgres"])
        guard initialized.status == 0 else { throw TestFailure("pgbench -i failed: \(initialized.stderr)") }
        let script = socketDirectory + "/ticks.sql"
        try """
            INSERT INTO ticks(pad) VALUES (repeat('x', 200));
            \\set aid random(1, 200000)
            UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;
            """.write(toFile: script, atomically: true, encoding: .utf8)
        return try ChildProcess(
            executable: Self.bin + "/pgbench",
            arguments: ["-n", "-c", "2", "-T", "600", "-f", script, "-h", socketDirectory, "-U", "postgres", "postgres"],
            log: harness.bus.directory + "/logs/\(label).log"
        )
    }
}
