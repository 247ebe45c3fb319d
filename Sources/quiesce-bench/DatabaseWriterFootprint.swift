import Foundation
import Quiesce

/// quiesce-postgres-writer's start (exec to its name on the bus, which includes reading the
/// cluster's layout from the server) and idle memory, against a PostgreSQL 15 server made for
/// the measurement (Debian's postgresql-15; as root it runs as `postgres`). Skipped, with a
/// line saying so, where there is no server.
struct DatabaseWriterFootprint {
    static let bin = "/usr/lib/postgresql/15/bin"
    let starts: Int
    let log: (String) -> Void

    /// Runs `program` as the server's user with no descriptor but 0 to 2 (a server pg_ctl leaves
    /// running must not hold ours), and waits for it.
    private func asOwner(_ program: String, _ arguments: [String]) throws -> Int32 {
        let command = getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--", program] + arguments : [program] + arguments
        let process = try BenchEnvironment.spawn(
            "/usr/bin/python3", ["-c", "import os, sys; os.closerange(3, 65536); os.execv(sys.argv[1], sys.argv[1:])"] + command
        )
        process.waitUntilExit()
        return process.terminationStatus
    }

    func measure(into report: inout BenchReport) async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.bin + "/postgres") else {
            log("postgres writer: skipped (no \(Self.bin)/postgres)")
            return
        }
        let place = NSTemporaryDirectory() + "quiesce-bench-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: place, withIntermediateDirectories: true)
        if getuid() == 0 {
            chmod(place, 0o755)
            (try? BenchEnvironment.spawn("/usr/bin/chown", ["postgres:postgres", place]))?.waitUntilExit()
        }
        defer {
            _ = try? asOwner(Self.bin + "/pg_ctl", ["-D", place + "/data", "-m", "immediate", "-w", "stop"])
            try? FileManager.default.removeItem(atPath: place)
        }
        log("postgres writer: making a cluster")
        guard try asOwner(Self.bin + "/initdb", ["-D", place + "/data", "-U", "postgres", "--auth=trust", "--no-instructions"]) == 0,
            try asOwner(Self.bin + "/pg_ctl", ["-D", place + "/data", "-l", place + "/server.log", "-w", "-o", "-c listen_addresses= -k \(place)", "start"]) == 0
        else { throw BenchFailure("the PostgreSQL server for the writer's footprint did not start (\(place)/server.log)") }

        let environment = try await BenchEnvironment.start()
        var times: [Double] = []
        var memory: BenchReport.Memory?
        do {
            for round in 0..<starts {
                let started = ContinuousClock.now
                let writer = try BenchEnvironment.spawn(
                    BenchEnvironment.binDirectory + "/quiesce-postgres-writer",
                    ["--address", environment.address, "--name", "pg", "--connection", "host=\(place) user=postgres dbname=postgres", "--log-level", "warning"]
                )
                try await environment.waitForName(BusNames.writerBusName("pg"))
                times.append((ContinuousClock.now - started).milliseconds)
                if round == starts - 1 {
                    try await Task.sleep(for: .milliseconds(500))
                    memory = BenchEnvironment.memory(writer)
                }
                writer.terminate()
                writer.waitUntilExit()
                while try await environment.connection.nameOwner(BusNames.writerBusName("pg")) != nil { try await Task.sleep(for: .milliseconds(5)) }
            }
        } catch {
            await environment.stop()
            throw error
        }
        await environment.stop()
        report.writerStart["postgres"] = Statistics(times)
        report.writerIdleMemory["postgres"] = memory
    }
}
