import Foundation
import Quiesce
import QuiesceRequester

/// A database writer's start (exec to its name on the bus) and idle memory, against a server
/// made for the measurement from Debian's packages (postgresql-15, mariadb-server; as root they
/// run as their packages' users). Skipped, with a line saying so, where there is no server.
struct DatabaseWriterFootprint {
    /// Which writer, and the server it needs.
    enum Database: String {
        case postgres, mariadb

        var server: String { self == .postgres ? "/usr/lib/postgresql/15/bin/postgres" : "/usr/sbin/mariadbd" }
        var writer: String { "quiesce-\(rawValue)-writer" }
    }

    let database: Database
    let starts: Int
    let log: (String) -> Void

    /// Runs `command` as `user` (when root) with no descriptor but 0 to 2 (a server it leaves
    /// running must not hold ours), and waits for it.
    private func run(as user: String, _ command: [String]) throws -> Int32 {
        let command = getuid() == 0 ? ["/usr/sbin/runuser", "-u", user, "--"] + command : command
        let process = try BenchEnvironment.spawn(
            "/usr/bin/python3", ["-c", "import os, sys; os.closerange(3, 65536); os.execv(sys.argv[1], sys.argv[1:])"] + command
        )
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Starts the server in `place`; returns the writer's arguments to reach it and how to stop it.
    private func startServer(in place: String) async throws -> (arguments: [String], stop: () -> Void) {
        switch database {
        case .postgres:
            let bin = "/usr/lib/postgresql/15/bin"
            guard try run(as: "postgres", [bin + "/initdb", "-D", place + "/data", "-U", "postgres", "--auth=trust", "--no-instructions"]) == 0,
                try run(as: "postgres", [bin + "/pg_ctl", "-D", place + "/data", "-l", place + "/server.log", "-w", "-o", "-c listen_addresses= -k \(place)", "start"]) == 0
            else { throw BenchFailure("the PostgreSQL server did not start (\(place)/server.log)") }
            return (["--connection", "host=\(place) user=postgres dbname=postgres"], {
                _ = try? run(as: "postgres", [bin + "/pg_ctl", "-D", place + "/data", "-m", "immediate", "-w", "stop"])
            })
        case .mariadb:
            let user = getuid() == 0 ? ["--user=mysql"] : []
            guard try run(as: "mysql", ["/bin/sh", "-c", "exec /usr/bin/mariadb-install-db --no-defaults --datadir=\(place)/data --tmpdir=\(place) --auth-root-authentication-method=socket --skip-test-db >\(place)/install.log 2>&1"]) == 0
            else { throw BenchFailure("mariadb-install-db failed: \((try? String(contentsOfFile: place + "/install.log", encoding: .utf8))?.suffix(1500) ?? "")") }
            let server = try BenchEnvironment.spawn(
                "/usr/sbin/mariadbd", ["--no-defaults", "--datadir=\(place)/data", "--tmpdir=\(place)", "--socket=\(place)/mysqld.sock", "--skip-networking"] + user,
                log: place + "/server.log"
            )
            let deadline = ContinuousClock.now + .seconds(60)
            while !FileManager.default.fileExists(atPath: place + "/mysqld.sock") {
                guard server.isRunning, ContinuousClock.now < deadline else { throw BenchFailure("mariadbd did not start (\(place)/server.log)") }
                try await Task.sleep(for: .milliseconds(20))
            }
            return (["--socket", place + "/mysqld.sock"], {
                server.terminate()
                server.waitUntilExit()
            })
        }
    }

    func measure(into report: inout BenchReport) async throws {
        guard FileManager.default.isExecutableFile(atPath: database.server) else {
            log("\(database.rawValue) writer: skipped (no \(database.server))")
            return
        }
        let place = NSTemporaryDirectory() + "quiesce-bench-\(database.rawValue)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: place, withIntermediateDirectories: true)
        if getuid() == 0 {
            chmod(place, 0o755)
            (try? BenchEnvironment.spawn("/usr/bin/chown", [database == .postgres ? "postgres:postgres" : "mysql:mysql", place]))?.waitUntilExit()
        }
        defer { try? FileManager.default.removeItem(atPath: place) }
        log("\(database.rawValue) writer: making a server")
        let server = try await startServer(in: place)
        defer { server.stop() }

        let environment = try await BenchEnvironment.start()
        var times: [Double] = []
        var memory: BenchReport.Memory?
        do {
            for round in 0..<starts {
                let started = ContinuousClock.now
                let writer = try BenchEnvironment.spawn(
                    BenchEnvironment.binDirectory + "/" + database.writer,
                    ["--address", environment.address, "--name", "db", "--log-level", "warning"] + server.arguments
                )
                try await environment.waitForName(BusNames.writerBusName("db"))
                times.append((ContinuousClock.now - started).milliseconds)
                if round == starts - 1 {
                    // Identify once, as a backup would, then idle.
                    let session = try await QuiesceClient(connection: environment.connection).createSession()
                    guard try await session.gatherWriterMetadata().count == 1 else { throw BenchFailure("\(database.writer) did not answer Identify") }
                    try await session.close()
                    try await Task.sleep(for: .milliseconds(500))
                    memory = BenchEnvironment.memory(writer)
                }
                writer.terminate()
                writer.waitUntilExit()
                while try await environment.connection.nameOwner(BusNames.writerBusName("db")) != nil { try await Task.sleep(for: .milliseconds(5)) }
            }
        } catch {
            await environment.stop()
            throw error
        }
        await environment.stop()
        report.writerStart[database.rawValue] = Statistics(times)
        report.writerIdleMemory[database.rawValue] = memory
    }
}
