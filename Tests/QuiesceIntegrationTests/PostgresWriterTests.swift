import Foundation
import Quiesce
import QuiesceBus
import QuiesceTestSupport
import Testing

/// The writer's backup metadata in a backup document, as JSON.
private func writerMetadata(_ document: BackupDocument) throws -> [String: Any] {
    let text = try #require(document.writers.first { $0.metadata.name == "pg" }?.components.first?.backupMetadata)
    return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

/// A cluster under a pgbench workload on `volume`, its WAL archived to `archive`, and its writer.
private func startCluster(_ harness: Harness, volume: String, archive: String) async throws -> (PostgresServer, ChildProcess) {
    try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: true)
    try await PostgresServer.own(harness, [archive])
    let server = try await PostgresServer.create(
        harness, dataDirectory: volume + "/data", socketDirectory: harness.bus.directory + "/run",
        settings: ["archive_mode = on", "archive_command = 'cp %p \(archive)/%f'"]
    )
    try await server.start()
    let workload = try await server.startWorkload("pgbench")
    try await harness.start(
        "pg", "quiesce-postgres-writer", ["--name", "pg", "--connection", server.connection, "--restore-command", "cp \(archive)/%f %p"],
        waitFor: BusNames.writerBusName("pg")
    )
    try await Task.sleep(for: .milliseconds(500))
    return (server, workload)
}

/// Restores `backup` below a new directory, starts the restored cluster there, and checks it:
/// pg_amcheck passes, and every tick committed before the freeze is there.
private func restoreAndVerify(_ harness: Harness, _ server: PostgresServer, backup: String, frozenAt: String) async throws {
    let before = "'\(frozenAt)'::timestamptz - interval '200 milliseconds'"
    let committed = try await server.sql("SELECT count(*) FROM ticks WHERE at < \(before)")
    #expect((Int(committed) ?? 0) > 0, "the workload committed ticks before the freeze")

    let elsewhere = try harness.folder("restored")
    let restore = try await harness.quiescectl(["restore", "--from", backup, "--to", elsewhere, "--yes"])
    #expect(restore.status == 0, "\(restore.stdout)\n\(restore.stderr)")
    let data = elsewhere + server.dataDirectory
    #expect(!FileManager.default.fileExists(atPath: data + "/postmaster.pid"), "the writer removed the stale pid file")

    let restored = try await server.restored(at: data, socketDirectory: harness.bus.directory + "/run-restored")
    try await restored.start()
    // Archive recovery accepts connections once consistent, then replays the rest and promotes.
    try await Harness.waitUntil("the restored cluster finished its recovery", timeout: .seconds(60)) {
        try await restored.sql("SELECT pg_is_in_recovery()") == "f"
    }
    let check = try await harness.run(PostgresServer.bin + "/pg_amcheck", ["-h", restored.socketDirectory, "-U", "postgres", "-d", "postgres", "--install-missing"])
    #expect(check.status == 0, "pg_amcheck: \(check.stdout)\(check.stderr)")
    #expect(try await restored.sql("SELECT count(*) FROM ticks WHERE at < \(before)") == committed, "every tick committed before the freeze is in the restored cluster")
    try await restored.stop()
}

@Suite("quiesce-postgres-writer with a real PostgreSQL 15 under pgbench", .serialized)
struct PostgresWriterTests {
    static let serverAvailable: Bool = {
        if !PostgresServer.available { print("SKIP: PostgreSQL writer tests: no /usr/lib/postgresql/15/bin/postgres (make test installs postgresql-15)") }
        return PostgresServer.available
    }()

    @Test("Copy provider: pg_backup_start/stop around the copy, backup_label in the metadata; restored elsewhere it recovers from the archive, passes pg_amcheck and has every tick committed before the freeze", .enabled(if: Self.serverAvailable))
    func backupModeRestoresElsewhere() async throws {
        try await Harness.with { harness in
            // PostgreSQL writes on while it is copied (backup mode): a loaded CI machine may copy slowly.
            try await harness.startCoordinator(["--write-hold-limit", "120"])
            let volume = try harness.folder("volumes/pg")
            let (server, workload) = try await startCluster(harness, volume: volume, archive: harness.bus.directory + "/archive")
            let backup = harness.bus.directory + "/backup"
            let result = try await harness.quiescectl(["backup", "--volume", volume, "--to", backup, "--provider", "copy", "--require", "pg", "--json"])
            #expect(result.status == 0, "\(result.stdout.suffix(3000))")
            let document = try JSONLines.backupDocument(result.stdout)
            #expect(document.writers.first { $0.metadata.name == "pg" }?.components.map(\.consistency) == [.applicationConsistent])
            let metadata = try writerMetadata(document)
            #expect(metadata["mode"] as? String == "backup-mode")
            #expect((metadata["backup-label"] as? String)?.contains("START WAL LOCATION") == true, "\(metadata)")
            #expect(metadata["stop-lsn"] as? String != nil)
            #expect(try await server.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'quiesce-pg'") == "0", "the session's connection is closed")
            await workload.terminate(grace: .seconds(2))
            try await restoreAndVerify(harness, server, backup: backup, frozenAt: try #require(metadata["frozen-at"] as? String))
            let restoredData = harness.bus.directory + "/restored" + server.dataDirectory
            #expect(FileManager.default.fileExists(atPath: restoredData + "/recovery.signal") == false, "recovery finished and removed it")
            try await server.stop()
        }
    }

    @Test("Refusals with the right codes: a tablespace outside the volumes (inconsistent-snapshot, with its path), no WAL archive for a copy (non-retryable), the server down (retryable, and --retry succeeds once it is back)", .enabled(if: Self.serverAvailable))
    func vetoes() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volumes/pg")
            let server = try await PostgresServer.create(harness, dataDirectory: volume + "/data", socketDirectory: harness.bus.directory + "/run")
            try await server.start()
            try await harness.start("pg", "quiesce-postgres-writer", ["--name", "pg", "--connection", server.connection], waitFor: BusNames.writerBusName("pg"))

            let noArchive = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/b1", "--provider", "copy", "--require", "pg"])
            #expect(noArchive.status == 1)
            #expect(noArchive.stderr.contains("pg: non-retryable") && noArchive.stderr.contains("does not archive its WAL"), "\(noArchive.stderr)")

            let outside = try harness.folder("elsewhere/space")
            try await PostgresServer.own(harness, [outside])
            try await server.sql("CREATE TABLESPACE elsewhere LOCATION '\(outside)'")
            let split = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/b2", "--require", "pg"])
            #expect(split.status == 1)
            #expect(split.stderr.contains("inconsistent-snapshot") && split.stderr.contains(outside), "\(split.stderr)")
            try await server.sql("DROP TABLESPACE elsewhere")

            try await server.stop()
            let retrying = Task { try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/b3", "--require", "pg", "--provider", "copy", "--retry", "--retry-delay", "1"]) }
            // The server comes back only once the writer has refused a first try (a fixed pause
            // was too short for quiescectl to start on a loaded machine).
            let writer = try #require(harness.process("pg"))
            _ = try await Harness.waitUntil("the writer finds the server down", timeout: .seconds(60)) {
                writer.output.contains("the PostgreSQL server is not reachable")
            }
            try server.configure(["archive_mode = on", "archive_command = '/bin/true'"])
            try await server.start()
            let retried = try await retrying.value
            #expect(retried.status == 0, "\(retried.stderr)")
            #expect(retried.stderr.contains("writer pg failed PrepareForBackup: retryable: the PostgreSQL server is not reachable"), "\(retried.stderr)")
            #expect(retried.stderr.contains("retry policy: pg failed with retryable"), "\(retried.stderr)")
            try await server.stop()
        }
    }

    @Test("The connection lost in backup mode (the backend terminated): the backup fails for this writer at pg_backup_stop, never silently", .enabled(if: Self.serverAvailable))
    func connectionLostMidBackup() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator(["--write-hold-limit", "120"])
            let volume = try harness.folder("volumes/pg")
            let (server, workload) = try await startCluster(harness, volume: volume, archive: harness.bus.directory + "/archive")
            // A slow Freeze elsewhere leaves time to cut the writer's connection in backup mode.
            let slow = try await harness.startFlakyWriter("slow", volume: volume, ["--at", "Freeze", "--mode", "slow", "--delay-ms", "6000"])
            let backup = Task { try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--provider", "copy", "--require", "pg"]) }
            // Both writers are back-end ones: they get Freeze together (a loaded machine may take a while to get there).
            try await Harness.waitUntil("the writers are sent Freeze", timeout: .seconds(90)) { events(of: slow).contains("Freeze") }
            try await Harness.waitUntil("the writer froze", timeout: .seconds(5)) {
                try await server.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'quiesce-pg' AND query LIKE '%clock_timestamp%'") == "1"
            }
            try await server.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'quiesce-pg'")
            let result = try await backup.value
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.contains("pg: non-retryable: the connection to PostgreSQL was lost during the backup (pg_backup_stop)"), "\(result.stderr)")
            await workload.terminate(grace: .seconds(2))
            try await server.stop()
        }
    }

    @Test("quiesced killed while the cluster is in backup mode: the writer closes its connection, which ends the backup mode", .enabled(if: Self.serverAvailable))
    func coordinatorKilledMidBackup() async throws {
        try await Harness.with { harness in
            let coordinator = try await harness.startCoordinator(["--timeout", "freeze=30"])
            let volume = try harness.folder("volumes/pg")
            let (server, workload) = try await startCluster(harness, volume: volume, archive: harness.bus.directory + "/archive")
            // A writer that hangs in Freeze holds the set between pg_backup_start and pg_backup_stop.
            try await harness.startFlakyWriter("stuck", volume: volume, ["--at", "Freeze", "--mode", "hang"])
            let backup = Task { try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--provider", "copy"]) }
            try await Harness.waitUntil("the cluster is in backup mode", timeout: .seconds(60)) {
                try await server.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'quiesce-pg' AND query LIKE '%clock_timestamp%'") == "1"
            }
            coordinator.signal(SIGKILL)
            let gone = try await Harness.waitUntil("the writer's backup connection is closed", timeout: .seconds(10)) {
                try await server.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'quiesce-pg'") == "0"
            }
            #expect(gone < .seconds(10))
            _ = try await backup.value
            await workload.terminate(grace: .seconds(2))
            try await server.stop()
        }
    }

    @Test("btrfs: the whole cluster in one instant needs no backup mode (a CHECKPOINT); the restored copy recovers as after a crash", .enabled(if: Self.serverAvailable && Harness.isRoot, "SKIP: needs root for a btrfs loop filesystem (CI runs as root)"))
    func oneInstantOnBtrfs() async throws {
        try await Harness.with { harness in
            try await LoopFilesystem.with(["btrfs"], harness: harness) { disks in
                try await harness.startCoordinator()
                let volume = disks[0].mountPoint + "/pg"
                try FileManager.default.createDirectory(atPath: volume, withIntermediateDirectories: true)
                let (server, workload) = try await startCluster(harness, volume: volume, archive: harness.bus.directory + "/archive")
                let backup = harness.bus.directory + "/backup"
                let result = try await harness.quiescectl(["backup", "--volume", volume, "--to", backup, "--provider", "btrfs", "--require", "pg", "--json"])
                #expect(result.status == 0, "\(result.stdout.suffix(3000))")
                let metadata = try writerMetadata(try JSONLines.backupDocument(result.stdout))
                #expect(metadata["mode"] as? String == "one-instant" && metadata["backup-label"] == nil, "\(metadata)")
                await workload.terminate(grace: .seconds(2))
                try await restoreAndVerify(harness, server, backup: backup, frozenAt: try #require(metadata["frozen-at"] as? String))
                try await server.stop()
            }
        }
    }
}
