import Foundation
import Quiesce
import QuiesceRequester
import QuiesceTestSupport
import Testing

@Suite("Requester policy and retries", .serialized)
struct PolicyAndRetryTests {
    @Test("A required writer's Freeze veto fails the backup and every writer sent PrepareForSnapshot gets Abort")
    func requiredVeto() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let vetoing = try await harness.startFlakyWriter("strict", volume: volume, ["--at", "Freeze", "--code", "non-retryable", "--message", "cannot pause"])
            let other = try await harness.startFlakyWriter("other", volume: volume)
            let result = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--require", "strict"])
            #expect(result.status == 1)
            #expect(result.stderr.contains("org.quiesce.Error.WriterFailed"))
            #expect(result.stderr.contains("strict: non-retryable: cannot pause"))
            #expect(events(of: vetoing).contains("Abort"))
            #expect(events(of: other).contains("Abort"))
            #expect(!events(of: other).contains("Thaw") || events(of: other).firstIndex(of: "Abort")! > events(of: other).firstIndex(of: "Freeze")!)
            #expect(!events(of: other).contains("PostSnapshot"))
            #expect(events(of: other).last == "BackupShutdown")
            #expect(try FileManager.default.contentsOfDirectory(atPath: harness.snapshotRoot).isEmpty)
            // No backup was made: the destination it created is gone again, and it says so.
            #expect(result.stderr.contains("removed the partial backup from \(harness.bus.directory)/backup"))
            #expect(!FileManager.default.fileExists(atPath: harness.bus.directory + "/backup"))
        }
    }

    @Test("--retry waits out Busy: another backup taking its snapshot delays this one, it does not fail it")
    func retryWaitsOutBusy() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            // Frozen long enough that the second backup reaches DoSnapshotSet on a loaded machine too.
            let slow = try await harness.startFlakyWriter("slow", volume: volume, ["--at", "Freeze", "--mode", "slow", "--delay-ms", "6000"])
            let client = QuiesceClient(connection: harness.connection)
            let first = try await client.createSession()
            _ = try await first.gatherWriterMetadata()
            try await first.addVolumes([volume])
            try await first.prepareForBackup()
            let snapshot = Task { try await first.doSnapshotSet() }
            try await Harness.waitUntil("the first backup is frozen") { events(of: slow).contains("Freeze") }
            let result = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--retry=5", "--retry-delay", "0.5"])
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stderr.contains("another backup is taking its snapshot (Busy): waiting"), "\(result.stderr)")
            _ = try await snapshot.value
            try await first.close()
        }
    }

    @Test("An optional writer's veto is recorded; the backup goes on and labels only its components crash-consistent")
    func optionalVeto() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("lenient", volume: volume, ["--at", "PrepareForSnapshot", "--code", "out-of-resources"])
            try await harness.startFlakyWriter("solid", volume: volume)
            let destination = harness.bus.directory + "/backup"
            let result = try await harness.quiescectl(["backup", "--volume", volume, "--to", destination, "--optional", "lenient", "--json"])
            #expect(result.status == 3)
            let document = try JSONLines.backupDocument(result.stdout)
            #expect(document.outcome == .partial)
            let byName = Dictionary(uniqueKeysWithValues: document.writers.map { ($0.metadata.name, $0) })
            #expect(byName["lenient"]?.status.state == .failedAtPrepareSnapshot)
            #expect(byName["lenient"]?.status.failure == .outOfResources)
            #expect(byName["lenient"]?.components.map(\.consistency) == [.crashConsistent])
            #expect(byName["solid"]?.components.map(\.consistency) == [.applicationConsistent])
        }
    }

    @Test("retryable: the policy retries unchanged and the second attempt succeeds")
    func retryRetryable() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await harness.startFlakyWriter("once", volume: volume, ["--at", "Freeze", "--code", "retryable", "--times", "1"])
            let result = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--require", "once", "--retry", "--retry-delay", "0.1"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("retry policy: once failed with retryable: a transient failure: retrying unchanged in 0.1 seconds"))
            #expect(result.stderr.contains("retry policy: attempt 2 of 4"))
            #expect(events(of: writer).filter { $0 == "Freeze" }.count == 2)
        }
    }

    @Test("inconsistent-snapshot: the policy adds the volume the writer needs and retries")
    func retryInconsistentSnapshot() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let dataVolume = try harness.folder("data-volume")
            let logVolume = try harness.folder("log-volume")
            try await harness.startFlakyWriter("split", volume: dataVolume, ["--also", logVolume])
            let destination = harness.bus.directory + "/backup"
            let result = try await harness.quiescectl(["backup", "--volume", dataVolume, "--to", destination, "--retry", "--retry-delay", "0", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            // With --json the decisions are note lines on standard output.
            #expect(try JSONLines(result.stdout).of("note").contains { ($0["message"] as? String)?.contains("split failed with inconsistent-snapshot: the snapshot set lacks volumes the writer needs: adding \(logVolume) and retrying") == true })
            let document = try JSONLines.backupDocument(result.stdout)
            #expect(document.snapshotSet?.volumes.map(\.volume) == [dataVolume, logVolume])
        }
    }

    @Test("Repeated retryable failures restart the writer's service (a configured command), then one more try")
    func restartAfterRepeatedFailures() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("stuck", volume: volume, ["--at", "Freeze", "--code", "retryable", "--times", "3"])
            let marker = harness.bus.directory + "/restarted"
            let result = try await harness.quiescectl([
                "backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--retry=5", "--retry-delay", "0",
                "--restart-after", "2", "--restart-command", "stuck=/usr/bin/touch \(marker)",
            ])
            #expect(result.status == 3)
            #expect(FileManager.default.fileExists(atPath: marker))
            let decisions = result.stderr.split(separator: "\n").filter { $0.hasPrefix("retry policy: stuck") }
            #expect(decisions.count == 3)
            #expect(decisions[0].contains("retrying unchanged"))
            #expect(decisions[1].contains("2 retryable failures: restarting its service, then trying once more"))
            #expect(decisions[2].contains("it failed again after its service was restarted"))
            #expect(result.stderr.contains("retry policy: ran /usr/bin/touch \(marker)"))
        }
    }

    @Test("non-retryable: the policy gives up on that writer at once and goes on without it")
    func giveUpNonRetryable() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await harness.startFlakyWriter("broken", volume: volume, ["--at", "PrepareForBackup", "--code", "non-retryable"])
            let result = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--retry"])
            #expect(result.status == 3)
            #expect(result.stderr.contains("broken failed with non-retryable: the failure would recur: giving up on this writer"))
            #expect(events(of: writer).filter { $0 == "PrepareForBackup" }.count == 1)
        }
    }

    @Test("Freeze goes front-end, back-end, system; Thaw in reverse")
    func levelOrder() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writers = [
                ("sys", try await harness.startFlakyWriter("sys", volume: volume, ["--level", "system"])),
                ("back", try await harness.startFlakyWriter("back", volume: volume, ["--level", "back-end"])),
                ("front", try await harness.startFlakyWriter("front", volume: volume, ["--level", "front-end"])),
            ]
            #expect(try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup"]).status == 0)
            func time(_ process: ChildProcess, _ event: String) -> Double {
                Double(eventLines(of: process).first { $0[1] == event }?.last ?? "") ?? .nan
            }
            let freezes = writers.sorted { time($0.1, "Freeze") < time($1.1, "Freeze") }.map(\.0)
            let thaws = writers.sorted { time($0.1, "Thaw") < time($1.1, "Thaw") }.map(\.0)
            #expect(freezes == ["front", "back", "sys"])
            #expect(thaws == ["sys", "back", "front"])
        }
    }
}
