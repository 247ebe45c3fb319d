import Foundation
import Quiesce
import QuiesceBus
import QuiesceTestSupport
import Testing

@Suite("quiesce-mariadb-writer with a real MariaDB under a write workload", .serialized)
struct MariaDBWriterTests {
    static let serverAvailable: Bool = {
        if !MariaDBServer.available { print("SKIP: MariaDB writer tests: no /usr/sbin/mariadbd (make test installs mariadb-server)") }
        return MariaDBServer.available
    }()

    @Test("btrfs: commits blocked (BACKUP STAGE BLOCK_COMMIT) from Freeze to Thaw, the binlog position kept; restored elsewhere, CHECK TABLE is OK and every row committed before the freeze is there", .enabled(if: Self.serverAvailable && Harness.isRoot, "SKIP: needs root for a btrfs loop filesystem (CI runs as root)"))
    func blockCommitOnBtrfs() async throws {
        try await Harness.with { harness in
            try await LoopFilesystem.with(["btrfs"], harness: harness) { disks in
                try await harness.startCoordinator()
                let volume = disks[0].mountPoint + "/db"
                let server = try await MariaDBServer.create(harness, dataDirectory: volume + "/data")
                let process = try await server.start()
                let workload = try await server.startWorkload()
                try await harness.start("db", "quiesce-mariadb-writer", ["--name", "db", "--socket", server.socket], waitFor: BusNames.writerBusName("db"))
                try await Task.sleep(for: .milliseconds(500))

                let backup = harness.bus.directory + "/backup"
                let result = try await harness.quiescectl(["backup", "--volume", volume, "--to", backup, "--provider", "btrfs", "--require", "db", "--json"])
                #expect(result.status == 0, "\(result.stdout.suffix(3000))")
                let document = try JSONLines.backupDocument(result.stdout)
                let text = try #require(document.writers.first { $0.metadata.name == "db" }?.components.first?.backupMetadata)
                let metadata = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                #expect(metadata["lock"] as? String == "backup-stage-block-commit")
                #expect((metadata["binlog-file"] as? String)?.hasPrefix("binlog.") == true, "\(metadata)")
                let frozenAt = try #require(metadata["frozen-at"] as? String)
                let held = try #require(metadata["held-milliseconds"] as? Double)
                try await Task.sleep(for: .milliseconds(300))
                await workload.terminate(grace: .seconds(2))

                // The stall the workload saw: the longest gap between two commits.
                let gap = try await server.sql("SELECT MAX(TIMESTAMPDIFF(MICROSECOND, previous, at)) / 1000 FROM (SELECT at, LAG(at) OVER (ORDER BY id) AS previous FROM t.ticks) AS gaps")
                print("MariaDB: commits blocked for \(held) ms by the writer; the workload's longest pause between two commits: \(gap) ms")
                let before = "'\(frozenAt)' - INTERVAL 200000 MICROSECOND"
                let committed = try await server.sql("SELECT COUNT(*) FROM t.ticks WHERE at < \(before)")
                #expect((Int(committed) ?? 0) > 0)

                let elsewhere = try harness.folder("restored")
                let restore = try await harness.quiescectl(["restore", "--from", backup, "--to", elsewhere, "--yes"])
                #expect(restore.status == 0, "\(restore.stdout)\n\(restore.stderr)")
                #expect(!FileManager.default.fileExists(atPath: elsewhere + server.dataDirectory + "/server.pid"), "the writer removed the stale pid file")
                let restored = try await server.restored(at: elsewhere + server.dataDirectory, label: "restored")
                let restoredProcess = try await restored.start()
                #expect(try await restored.sql("CHECK TABLE t.ticks").hasSuffix("OK"))
                // One client inserts one row at a time, `at` its statement's start: the insert in
                // flight when commits were blocked has an `at` from before the freeze and commits
                // after Thaw (under load a statement can stall for over a second between the two).
                // Every other row with such an `at` was committed before the freeze.
                let restoredBefore = try await restored.sql("SELECT COUNT(*) FROM t.ticks WHERE at < \(before)")
                if restoredBefore != committed {
                    #expect(Int(restoredBefore) == (Int(committed) ?? 0) - 1, "every row committed before the freeze: \(restoredBefore) of \(committed)")
                    let inFlight = try await restored.sql("SELECT COALESCE(MAX(id), 0) + 1 FROM t.ticks")
                    #expect(try await server.sql("SELECT COUNT(*) FROM t.ticks WHERE id = \(inFlight) AND at < \(before)") == "1", "the one row missing is the insert in flight")
                }
                await restoredProcess.terminate(grace: .seconds(20))
                await process.terminate(grace: .seconds(20))
            }
        }
    }

    @Test("Vetoes: a copy taken over time (inconsistent-snapshot), the server down (retryable)", .enabled(if: Self.serverAvailable))
    func vetoes() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volumes/db")
            let server = try await MariaDBServer.create(harness, dataDirectory: volume + "/data")
            let process = try await server.start()
            try await harness.start("db", "quiesce-mariadb-writer", ["--name", "db", "--socket", server.socket], waitFor: BusNames.writerBusName("db"))

            let copy = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/b1", "--provider", "copy", "--require", "db"])
            #expect(copy.status == 1)
            #expect(copy.stderr.contains("db: inconsistent-snapshot") && copy.stderr.contains("InnoDB keeps flushing"), "\(copy.stderr)")

            await process.terminate(grace: .seconds(20))
            let down = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/b2", "--require", "db", "--provider", "copy"])
            #expect(down.status == 1)
            #expect(down.stderr.contains("db: retryable: the MariaDB server is not reachable"), "\(down.stderr)")

            await process.terminate(grace: .seconds(20))
        }
    }

    @Test("quiesced killed while commits are blocked: the writer closes its connection and commits resume", .enabled(if: Self.serverAvailable && Harness.isRoot, "SKIP: needs root for a btrfs loop filesystem (CI runs as root)"))
    func coordinatorKilledWhileBlocked() async throws {
        try await Harness.with { harness in
            try await LoopFilesystem.with(["btrfs"], harness: harness) { disks in
                let coordinator = try await harness.startCoordinator(["--timeout", "freeze=30"])
                let volume = disks[0].mountPoint + "/db"
                let server = try await MariaDBServer.create(harness, dataDirectory: volume + "/data")
                let process = try await server.start()
                let workload = try await server.startWorkload()
                try await harness.start("db", "quiesce-mariadb-writer", ["--name", "db", "--socket", server.socket], waitFor: BusNames.writerBusName("db"))
                // A writer that hangs in Freeze keeps the set frozen: MariaDB's commits stay blocked.
                try await harness.startFlakyWriter("stuck", volume: volume, ["--at", "Freeze", "--mode", "hang"])
                let backup = Task { try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--provider", "btrfs"]) }
                try await Harness.waitUntil("commits are blocked", timeout: .seconds(20)) {
                    let first = try await server.sql("SELECT COUNT(*) FROM t.ticks")
                    try await Task.sleep(for: .milliseconds(300))
                    return try await server.sql("SELECT COUNT(*) FROM t.ticks") == first
                }
                coordinator.signal(SIGKILL)
                let resumed = try await Harness.waitUntil("commits resume", timeout: .seconds(10)) {
                    let first = try await server.sql("SELECT COUNT(*) FROM t.ticks")
                    try await Task.sleep(for: .milliseconds(100))
                    return try await server.sql("SELECT COUNT(*) FROM t.ticks") != first
                }
                print("MariaDB: commits resumed \(resumed) after quiesced was killed")
                _ = try await backup.value
                await workload.terminate(grace: .seconds(2))
                await process.terminate(grace: .seconds(20))
            }
        }
    }
}
