import Foundation
import Quiesce
import QuiesceProtocol
import QuiesceBus
import QuiesceRequester
import QuiesceTestSupport
import Testing

/// Whether a flaky-writer printed `line`.
private func printed(_ process: ChildProcess, _ line: String) -> Bool {
    process.output.contains(line)
}

@Suite("Faults: nothing stays frozen when any one process dies", .serialized)
struct FaultTests {
    @Test(
        "A writer killed in any phase is not-responding at once (not after the event timeout); the other writer completes",
        arguments: [WriterEvent.prepareForBackup, .prepareForSnapshot, .freeze, .thaw, .postSnapshot, .backupComplete]
    )
    func writerKilled(in event: WriterEvent) async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator(["--timeout", "\(event.methodName)=30"])
            let volume = try harness.folder("volume")
            let victim = try await harness.startFlakyWriter("victim", volume: volume, ["--at", event.methodName, "--mode", "hang"])
            let other = try await harness.startFlakyWriter("other", volume: volume)
            let session = try await QuiesceClient(connection: harness.connection).createSession()
            let steps = Task {
                _ = try await session.gatherWriterMetadata()
                try await session.addVolumes([volume])
                try await session.prepareForBackup()
                _ = try await session.doSnapshotSet()
                try await session.backupComplete(succeeded: true)
            }
            try await Harness.waitUntil("the victim is in \(event.methodName)") { events(of: victim).last == event.methodName }
            victim.signal(SIGKILL)
            let noticed = try await Harness.waitUntil("the session reports the victim", timeout: .seconds(15)) {
                try await session.writerStatus().first { $0.name == "victim" }?.failure == .notResponding
            }
            // Far below the 30 s event timeout: the death itself is noticed (in a few ms when the
            // machine is idle; a loaded CI machine running every suite at once took 3.4 s once).
            #expect(noticed < .seconds(10), "noticed after \(noticed)")
            try await steps.value
            let document = try await session.backupDocument()
            let statuses = try await session.close()
            #expect(statuses.first { $0.name == "victim" }?.state == event.stateOnFailure)
            #expect(statuses.first { $0.name == "other" }?.failure == nil)
            #expect(document.writers.first { $0.metadata.name == "other" }?.components.first?.consistency == .applicationConsistent)
            #expect(events(of: other).last == "BackupShutdown")
            #expect(!events(of: other).contains("Freeze") || events(of: other).contains("Thaw"))
        }
    }

    @Test("quiesced killed while a writer is frozen: the writer aborts within 2 s and its workload goes on")
    func coordinatorKilledWhileFrozen() async throws {
        try await Harness.with { harness in
            let coordinator = try await harness.startCoordinator(["--timeout", "freeze=60"])
            let volume = try harness.folder("volumes/notes")
            let database = volume + "/notes.db"
            let notes = try await harness.start("notes", "notes-writer", ["--database", database, "--workload", "--interval-ms", "5"], waitFor: BusNames.writerBusName("notes"))
            // A second writer that never finishes Freeze keeps the coordinator between Freeze and Thaw.
            try await harness.startFlakyWriter("slowpoke", volume: volume, ["--at", "Freeze", "--mode", "hang"])
            let backup = Task { try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup"]) }
            try await Harness.waitUntil("notes is frozen") { printed(notes, "frozen: writes to") }
            let held = try await sqlite(harness, database, "SELECT count(*) FROM notes;")
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await sqlite(harness, database, "SELECT count(*) FROM notes;") == held, "writes went on while frozen")

            coordinator.signal(SIGKILL)
            let gone = ContinuousClock.now
            try await Harness.waitUntil("notes aborts", timeout: .seconds(5)) { printed(notes, "aborted: writes to") }
            #expect(ContinuousClock.now - gone < .seconds(2))
            // The SDK logs why just after the writer's own Abort handler ran.
            _ = try await Harness.waitUntil("the writer says why it aborted", timeout: .seconds(5)) { notes.output.contains("which sent Freeze, left the bus") }
            try await Harness.waitUntil("the workload writes again") { try await sqlite(harness, database, "SELECT count(*) FROM notes;") != held }
            _ = try await backup.value
        }
    }

    @Test("A writer whose lease runs out thaws itself although the coordinator is still there")
    func leaseExpires() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator(["--timeout", "freeze=3", "--timeout", "abort=1", "--timeout", "backup-shutdown=1"])
            let volume = try harness.folder("volume")
            let leased = try await harness.startFlakyWriter("leased", volume: volume, ["--freeze-timeout", "0.5"])
            try await harness.startFlakyWriter("slowpoke", volume: volume, ["--at", "Freeze", "--mode", "hang"])
            let destination = harness.bus.directory + "/backup"
            let backup = Task { try await harness.quiescectl(["backup", "--volume", volume, "--to", destination, "--json"]) }
            try await Harness.waitUntil("leased is frozen") { events(of: leased).contains("Freeze") }
            let frozen = ContinuousClock.now
            try await Harness.waitUntil("leased aborts on its own", timeout: .seconds(5)) { leased.output.contains("ABORTED") }
            #expect(ContinuousClock.now - frozen < .seconds(1.5))
            // The SDK logs why after the handler ran.
            try await Harness.waitUntil("leased says why") { leased.output.contains("the freeze lease of 0.5 seconds ran out before Thaw") }
            #expect(try await harness.writerProperty("leased", "LastError") == "s \"timeout\"")
            let result = try await backup.value
            #expect(result.status == 3)
            let document = try JSONLines.backupDocument(result.stdout)
            let record = try #require(document.writers.first { $0.metadata.name == "leased" })
            // The late Thaw learned that the writer had already aborted.
            #expect(record.status.failure == .timeout)
            #expect(record.status.state == .failedAtFreeze)
            #expect(record.components.map(\.consistency) == [.crashConsistent])
        }
    }

    @Test("A requester that leaves mid-session: within 2 s its writers get BackupShutdown and the snapshot set is removed")
    func requesterLeaves() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await harness.startFlakyWriter("w", volume: volume)
            let requester = try await BusConnection.connect(to: .address(harness.bus.address))
            let session = try await QuiesceClient(connection: requester).createSession()
            _ = try await session.gatherWriterMetadata()
            try await session.addVolumes([volume])
            try await session.prepareForBackup()
            _ = try await session.doSnapshotSet()
            let snapshots = harness.snapshotRoot
            #expect(try FileManager.default.contentsOfDirectory(atPath: snapshots).count == 1)

            await requester.close()
            let took = try await Harness.waitUntil("the session is shut down") {
                guard events(of: writer).last == "BackupShutdown", try FileManager.default.contentsOfDirectory(atPath: snapshots).isEmpty else { return false }
                return try await QuiesceClient(connection: harness.connection).listSessions().isEmpty
            }
            #expect(took < .seconds(2))
            // The backup never completed: Abort tells the writer so before BackupShutdown.
            #expect(events(of: writer).suffix(2) == ["Abort", "BackupShutdown"])
        }
    }

    @Test("A requester that leaves between PrepareForSnapshot and Thaw cannot leave writers frozen")
    func requesterLeavesDuringSnapshot() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let slow = try await harness.startFlakyWriter("slow", volume: volume, ["--at", "Freeze", "--mode", "slow", "--delay-ms", "500"])
            let requester = try await BusConnection.connect(to: .address(harness.bus.address))
            let session = try await QuiesceClient(connection: requester).createSession()
            _ = try await session.gatherWriterMetadata()
            try await session.addVolumes([volume])
            try await session.prepareForBackup()
            let snapshot = Task { try? await session.doSnapshotSet() }
            try await Harness.waitUntil("slow is freezing") { events(of: slow).contains("Freeze") }
            await requester.close()
            _ = await snapshot.value
            try await Harness.waitUntil("the session is shut down") { events(of: slow).last == "BackupShutdown" }
            // Freeze was followed by Thaw: the step in progress finished before the session was
            // abandoned; then Abort, since the backup will not complete.
            #expect(events(of: slow) == ["PrepareForBackup", "PrepareForSnapshot", "Freeze", "Thaw", "PostSnapshot", "Abort", "BackupShutdown"])
        }
    }

    @Test("SIGTERM to quiesced: its sessions are aborted and closed, then it exits")
    func coordinatorTerminated() async throws {
        try await Harness.with { harness in
            let coordinator = try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await harness.startFlakyWriter("w", volume: volume)
            let session = try await QuiesceClient(connection: harness.connection).createSession()
            _ = try await session.gatherWriterMetadata()
            try await session.addVolumes([volume])
            try await session.prepareForBackup()
            _ = try await session.doSnapshotSet()
            coordinator.signal(SIGTERM)
            #expect(await coordinator.waitForExit(timeout: .seconds(10)) == 0)
            #expect(events(of: writer).last == "BackupShutdown")
            #expect(try FileManager.default.contentsOfDirectory(atPath: harness.snapshotRoot).isEmpty)
            #expect(coordinator.output.contains("abandoning session"))
        }
    }

    @Test("One snapshot set at a time: a second DoSnapshotSet gets Busy at once")
    func oneSnapshotSetAtATime() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let slow = try await harness.startFlakyWriter("slow", volume: volume, ["--at", "PrepareForSnapshot", "--mode", "slow", "--delay-ms", "1500", "--times", "1"])
            let client = QuiesceClient(connection: harness.connection)
            let first = try await client.createSession()
            let second = try await client.createSession()
            for session in [first, second] {
                _ = try await session.gatherWriterMetadata()
                try await session.addVolumes([volume])
                try await session.prepareForBackup()
            }
            let running = Task { try await first.doSnapshotSet() }
            try await Harness.waitUntil("the first snapshot set is being made") { events(of: slow).contains("PrepareForSnapshot") }
            let start = ContinuousClock.now
            let busy = await #expect(throws: QuiesceError.self) { try await second.doSnapshotSet() }
            #expect(busy?.code == .busy)
            #expect(ContinuousClock.now - start < .seconds(1))
            _ = try await running.value
            // The refused session is unchanged and can make its snapshot set now.
            _ = try await second.doSnapshotSet()
            try await first.close()
            try await second.close()
        }
    }

    @Test("The number of sessions is bounded; idle sessions are reaped")
    func sessionLimitsAndReaping() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator(["--max-sessions", "2", "--session-idle-timeout", "1"])
            let volume = try harness.folder("volume")
            let writer = try await harness.startFlakyWriter("w", volume: volume)
            let client = QuiesceClient(connection: harness.connection)
            let first = try await client.createSession()
            _ = try await client.createSession()
            let refused = await #expect(throws: QuiesceError.self) { try await client.createSession() }
            #expect(refused?.code == .limitReached)
            _ = try await first.gatherWriterMetadata()
            try await first.addVolumes([volume])
            try await first.prepareForBackup()
            // Nobody calls the sessions again: both are reaped, and the writer released.
            try await Harness.waitUntil("the sessions are reaped", timeout: .seconds(10)) { try await client.listSessions().isEmpty }
            #expect(events(of: writer) == ["PrepareForBackup", "BackupShutdown"])
            _ = try await client.createSession()
        }
    }

    @Test("quiesced killed mid-session: writers drop its sessions, the restarted quiesced removes the snapshot sets it left, the next backup is clean")
    func coordinatorKilledMidSession() async throws {
        try await Harness.with { harness in
            let coordinator = try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await harness.startFlakyWriter("w", volume: volume)
            let client = QuiesceClient(connection: harness.connection)
            for index in 0..<8 {  // as many sessions as the writer takes
                let session = try await client.createSession()
                _ = try await session.gatherWriterMetadata()
                try await session.addVolumes([volume])
                try await session.prepareForBackup()
                if index == 0 { _ = try await session.doSnapshotSet() }
            }
            #expect(try await harness.writerProperty("w", "Sessions") == "u 8")
            #expect(try FileManager.default.contentsOfDirectory(atPath: harness.snapshotRoot).count == 1)

            coordinator.signal(SIGKILL)
            await coordinator.waitForExit()
            try await Harness.waitUntil("the writer ends the sessions of the coordinator that left") {
                try await harness.writerProperty("w", "Sessions") == "u 0"
            }
            #expect(events(of: writer).filter { $0 == "BackupShutdown" }.count == 8)

            let restarted = try await harness.start("quiesced-again", "quiesced", ["--state-dir", harness.stateDirectory], waitFor: BusNames.coordinator)
            #expect(restarted.output.contains("removed 1 snapshot set(s) left by a previous run"), "\(restarted.output)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: harness.snapshotRoot).isEmpty)
            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup"])
            #expect(backup.status == 0, "\(backup.stdout)\n\(backup.stderr)")
        }
    }
}
