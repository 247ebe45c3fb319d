import Foundation
import QuiesceTestSupport

/// A MariaDB server from Debian's package (mariadb-server), made by a test in its own folder:
/// `mariadb-install-db`, then `mariadbd` on a Unix socket only, with a small redo log and
/// buffer pool (so that InnoDB keeps flushing under load) and the binary log on. As root (CI)
/// it runs as the package's `mysql` user.
struct MariaDBServer: Sendable {
    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/sbin/mariadbd") }

    let harness: Harness
    let dataDirectory: String
    let socket: String
    let label: String

    /// Gives `paths` (recursively) to the server's user.
    static func own(_ harness: Harness, _ paths: [String]) async throws {
        guard Harness.isRoot else { return }
        _ = try await harness.run("/usr/bin/chmod", ["o+x", harness.bus.directory])
        let result = try await harness.run("/usr/bin/chown", ["-R", "mysql:mysql"] + paths)
        guard result.status == 0 else { throw TestFailure("chown failed: \(result.stderr)") }
    }

    /// A new server's data directory.
    static func create(_ harness: Harness, dataDirectory: String, label: String = "mariadb") async throws -> MariaDBServer {
        let parent = URL(fileURLWithPath: dataDirectory).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let run = harness.bus.directory + "/run-\(label)"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        try await own(harness, [parent, run])
        // Its own temporary directory: servers that share /tmp have seen each other's temporary tables vanish.
        let installed = try await harness.run(
            "/usr/bin/mariadb-install-db",
            ["--no-defaults", "--datadir=\(dataDirectory)", "--tmpdir=\(run)", "--auth-root-authentication-method=socket", "--skip-test-db"] + (Harness.isRoot ? ["--user=mysql"] : [])
        )
        guard installed.status == 0 else {
            let log = (try? String(contentsOfFile: dataDirectory + "/\(ProcessInfo.processInfo.hostName).err", encoding: .utf8)) ?? ""
            throw TestFailure("mariadb-install-db failed (\(installed.status)): \(installed.stdout.suffix(1500))\(installed.stderr.suffix(1500))\(log.suffix(1500))")
        }
        return MariaDBServer(harness: harness, dataDirectory: dataDirectory, socket: run + "/mysqld.sock", label: label)
    }

    /// The same server's files somewhere else (a restored copy), on its own socket.
    func restored(at dataDirectory: String, label: String) async throws -> MariaDBServer {
        let run = harness.bus.directory + "/run-\(label)"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        try await Self.own(harness, [run])
        var parent = URL(fileURLWithPath: dataDirectory).deletingLastPathComponent().path
        while parent.hasPrefix(harness.bus.directory + "/") {
            _ = try await harness.run("/usr/bin/chmod", ["o+x", parent])
            parent = URL(fileURLWithPath: parent).deletingLastPathComponent().path
        }
        return MariaDBServer(harness: harness, dataDirectory: dataDirectory, socket: run + "/mysqld.sock", label: label)
    }

    /// Starts `mariadbd` and waits until it answers.
    @discardableResult
    func start() async throws -> ChildProcess {
        let server = try ChildProcess(
            executable: "/usr/sbin/mariadbd",
            arguments: [
                "--no-defaults", "--datadir=\(dataDirectory)", "--socket=\(socket)", "--tmpdir=\(URL(fileURLWithPath: socket).deletingLastPathComponent().path)", "--skip-networking", "--pid-file=\(dataDirectory)/server.pid",
                "--innodb-buffer-pool-size=8M", "--innodb-log-file-size=4M", "--log-bin=binlog", "--server-id=1",
            ] + (Harness.isRoot ? ["--user=mysql"] : []),
            log: harness.bus.directory + "/logs/\(label).log"
        )
        harness.adopt(server, as: label)
        try await Harness.waitUntil("MariaDB answers", timeout: .seconds(60)) {
            guard server.isRunning else { throw TestFailure("mariadbd exited: \(server.output.suffix(2000))") }
            return (try? await sql("SELECT 1")) == "1"
        }
        return server
    }

    /// Runs SQL with the mariadb client as root; its output, without headers.
    @discardableResult
    func sql(_ statement: String) async throws -> String {
        let result = try await harness.run("/usr/bin/mariadb", ["--no-defaults", "-S", socket, "-u", "root", "-N", "-B", "-e", statement])
        guard result.status == 0 else { throw TestFailure("mariadb failed: \(statement): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// One client inserting into `t.ticks` (`id`, `at` the insert's time) as fast as it can, each
    /// insert its own transaction: the write workload a backup runs under.
    func startWorkload() async throws -> ChildProcess {
        try await sql("CREATE DATABASE IF NOT EXISTS t; CREATE TABLE IF NOT EXISTS t.ticks(id BIGINT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6) NOT NULL, pad VARCHAR(255)) ENGINE=InnoDB")
        return try ChildProcess(
            executable: "/bin/sh",
            arguments: ["-c", "yes \"INSERT INTO t.ticks(at, pad) VALUES (NOW(6), REPEAT('x', 200));\" | /usr/bin/mariadb --no-defaults -S \(socket) -u root"],
            log: harness.bus.directory + "/logs/\(label)-workload.log"
        )
    }
}
