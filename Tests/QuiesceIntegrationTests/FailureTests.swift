import Foundation
import Quiesce
import QuiesceTestSupport
import Testing

@Suite("Writers that fail or hang", .serialized)
struct FailureTests {
    @Test("A writer that hangs in Freeze is reported not-responding; the other writer is thawed and completes")
    func hangInFreeze() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator(["--timeout", "freeze=1", "--timeout", "abort=1", "--timeout", "backup-shutdown=1"])
            let volume = try harness.folder("volume")
            let good = try await harness.startFlakyWriter("good", volume: volume)
            let hung = try await harness.startFlakyWriter("hung", volume: volume, ["--at", "Freeze", "--mode", "hang"])
            let destination = harness.bus.directory + "/backup"
            let result = try await harness.quiescectl(["backup", "--volume", volume, "--to", destination])
            #expect(result.status == 3, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains("backup partial"))

            let document = try JSONCoding.decode(BackupDocument.self, from: String(contentsOfFile: destination + "/backup.json", encoding: .utf8))
            #expect(document.outcome == .partial)
            let hungRecord = try #require(document.writers.first { $0.metadata.name == "hung" })
            #expect(hungRecord.status.failure == .notResponding)
            #expect(hungRecord.status.state == .failedAtFreeze)
            #expect(hungRecord.status.message.contains("no reply to Freeze"))
            #expect(hungRecord.components.map(\.consistency) == [.crashConsistent])
            let goodRecord = try #require(document.writers.first { $0.metadata.name == "good" })
            #expect(goodRecord.status.failure == nil)
            #expect(goodRecord.components.map(\.consistency) == [.applicationConsistent])

            #expect(events(of: good) == ["PrepareForBackup", "PrepareForSnapshot", "Freeze", "Thaw", "PostSnapshot", "BackupComplete", "BackupShutdown"])
            #expect(events(of: hung) == ["PrepareForBackup", "PrepareForSnapshot", "Freeze"])
            #expect(try await harness.writerProperty("good", "State") == "s \"stable\"")
        }
    }

    @Test("A veto in Freeze shows in busctl's State and LastError, and the writer gets Abort, not Thaw")
    func vetoInFreeze() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let vetoing = try await harness.startFlakyWriter("vetoing", volume: volume, ["--at", "Freeze", "--code", "retryable", "--message", "try later"])
            let result = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup"])
            #expect(result.status == 3)
            #expect(result.stdout.contains("try later"))
            #expect(events(of: vetoing) == ["PrepareForBackup", "PrepareForSnapshot", "Freeze", "Abort", "BackupShutdown"])
            #expect(try await harness.writerProperty("vetoing", "LastError") == "s \"no-error\"")  // BackupShutdown succeeded last
            let listed = try await harness.quiescectl(["writers"])
            #expect(listed.stdout.contains("vetoing"))
        }
    }

    @Test("State and LastError show a failure while it is the writer's latest event")
    func failureVisibleWithBusctl() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("sad", volume: volume, ["--at", "BackupShutdown", "--code", "non-retryable", "--message", "disk on fire"])
            _ = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup"])
            #expect(try await harness.writerProperty("sad", "State") == "s \"failed-at-backup-shutdown\"")
            #expect(try await harness.writerProperty("sad", "LastError") == "s \"non-retryable\"")
            #expect(try await harness.writerProperty("sad", "LastMessage") == "s \"disk on fire\"")
            let listed = try await harness.quiescectl(["writers"])
            #expect(listed.stdout.contains("failed-at-backup-shutdown  non-retryable"))
        }
    }
}
