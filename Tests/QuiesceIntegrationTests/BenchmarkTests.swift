import Foundation
import QuiesceTestSupport
import Testing

@Suite("The benchmark itself", .serialized)
struct BenchmarkTests {
    @Test("quiesce-bench with a few writers: every session succeeds and every phase is measured (no timing is checked here)")
    func benchmarkRunsCorrectly() async throws {
        try await Harness.with { harness in
            let result = try await harness.run(Harness.binDirectory + "/quiesce-bench", [
                "run", "--writers", "1,3", "--sessions", "2", "--window-writers", "3", "--freeze-ms", "20",
                "--flood-clients", "2", "--flood-writers", "2", "--flood-script", PrivateBus.repository + "/scripts/list-writers-flood.py",
                "--provider-sizes", Harness.isRoot ? "8" : "", "--database-starts", "1", "--json",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            #expect(report["all-sessions-succeeded"] as? Bool == true)
            let phases = try #require(report["phases"] as? [[String: Any]])
            #expect(phases.count == 28, "7 phases × 2 sizes × the Swift and the C writer")
            #expect(Set(phases.compactMap { $0["kind"] as? String }) == ["swift", "c"])
            for phase in phases {
                let latency = try #require(phase["latency"] as? [String: Any])
                #expect(latency["samples"] as? Int == 2, "\(phase["phase"] ?? "?")")
                #expect((latency["median"] as? Double ?? 0) > 0)
            }
            // The database writers' footprint, against real servers where they are installed.
            let starts = try #require(report["writer-start"] as? [String: Any])
            let memory = try #require(report["writer-idle-memory"] as? [String: Any])
            for (database, installed) in [("postgres", PostgresServer.available), ("mariadb", MariaDBServer.available)] where installed {
                #expect(starts[database] != nil && ((memory[database] as? [String: Any])?["private-ki-b"] as? Int ?? 0) > 0, "\(database): \(memory)")
            }
            let window = try #require(report["freeze-window"] as? [String: Any])
            #expect((window["sequential-hooks-milliseconds"] as? Double ?? 0) >= 60)
            let rows = try #require(window["kinds"] as? [[String: Any]])
            #expect(rows.compactMap { $0["kind"] as? String } == ["swift", "c"], "the SDK's writers and the C writer")
            for row in rows {
                #expect((row["floor"] as? [String: Any])?["samples"] as? Int == 5, "a Ping floor beside every measured window")
                #expect((row["limit-ratio"] as? Double ?? 0) > 0, "the window against its limit: \(row)")
                let steps = try #require(row["steps"] as? [String: Double])
                #expect((steps["Freeze"] ?? 0) >= 20 && (steps["Thaw"] ?? 0) > 0 && steps["snapshot"] != nil, "each writer's Freeze takes 20 ms: \(steps)")
            }
            let hookWriters = try #require(window["hook-writers"] as? [String: Any])
            #expect(hookWriters["samples"] as? Int == 5)
            #expect((hookWriters["median"] as? Double ?? 0) >= 20, "each hook sleeps 20 ms at freeze")
            let flood = try #require(report["flood"] as? [String: Any])
            #expect((flood["list-writers-per-second"] as? Double ?? 0) > 0)
            #expect((flood["phases"] as? [String: [Double]])?.count == 7)
            if Harness.isRoot {
                let windows = try #require(report["provider-windows"] as? [[String: Any]])
                #expect(windows.compactMap { $0["provider"] as? String } == ["btrfs", "freeze", "copy"])
                #expect(windows.allSatisfy { $0["window"] != nil }, "\(windows)")
            }
            // Everything the benchmark started is gone: its bus, quiesced and the writers.
            let left = try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap(Int32.init).filter { pid in
                let commandLine = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
                return commandLine.contains("quiesce-bench-") && !commandLine.contains("quiesce-bench\u{0}run")
            }
            #expect(left.isEmpty, "the benchmark left processes running: \(left)")
        }
    }
}
