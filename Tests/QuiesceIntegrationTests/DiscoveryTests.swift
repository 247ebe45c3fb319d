import Foundation
import Quiesce
import QuiesceRequester
import QuiesceTestSupport
import Testing

@Suite("Writer discovery", .serialized)
struct DiscoveryTests {
    @Test("quiesced sees a writer that starts after it and forgets it when it stops")
    func writerComesAndGoes() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let before = try await harness.quiescectl(["writers", "--json"])
            #expect(before.status == 0)
            #expect(try JSONCoding.decode([WriterSummary].self, from: before.stdout).isEmpty)

            let writer = try await harness.startFlakyWriter("late", volume: try harness.folder("volume"))
            let during = try await harness.quiescectl(["writers", "--json"])
            let listed = try JSONCoding.decode([WriterSummary].self, from: during.stdout)
            #expect(listed.map(\.name) == ["late"])
            #expect(listed.first?.state == "stable")
            #expect(listed.first?.lastError == "no-error")
            #expect(listed.first?.classId == "a3c1f7e2-5d4b-4e8a-9f60-2b1d7c9e4f10")

            let table = try await harness.quiescectl(["writers"])
            #expect(table.stdout.hasPrefix("NAME  CLASS ID"))
            #expect(table.stdout.contains("\nlate  a3c1f7e2-5d4b-4e8a-9f60-2b1d7c9e4f10  "))

            await writer.terminate()
            try await harness.waitForNameGone(BusNames.writerBusName("late"))
            let after = try await harness.quiescectl(["writers", "--json"])
            #expect(try JSONCoding.decode([WriterSummary].self, from: after.stdout).isEmpty)
        }
    }

    @Test("Without quiesced on the bus, quiescectl says so instead of failing obscurely")
    func noCoordinator() async throws {
        try await Harness.with { harness in
            let writers = try await harness.quiescectl(["writers"])
            #expect(writers.status == 1)
            #expect(writers.stderr.contains("quiesced is not running on the bus at \(harness.bus.address)"))
            #expect(!writers.stderr.contains("Usage:"))
            let backup = try await harness.quiescectl(["backup", "--volume", try harness.folder("v"), "--to", harness.bus.directory + "/b"])
            #expect(backup.status == 1)
            #expect(backup.stderr.contains("quiesced is not running"))
        }
    }

    @Test("A stopped quiesced: quiescectl gives up with a reason instead of waiting forever")
    func stoppedCoordinator() async throws {
        try await Harness.with { harness in
            let coordinator = try await harness.startCoordinator()
            coordinator.signal(SIGSTOP)
            defer { coordinator.signal(SIGCONT) }
            let writers = try await harness.quiescectl(["writers"])
            #expect(writers.status == 1)
            #expect(writers.stderr.contains("quiesced stopped answering on the bus during ListWriters"), "\(writers.stderr)")
        }
    }

    @Test("Arguments that are not UTF-8 are refused, not turned into another path")
    func nonUTF8Arguments() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let result = try await harness.run("/bin/sh", [
                "-c", "exec \"$0\" backup --address \"$1\" --volume \"$2\" --to \"$(printf '%s/to-\\377' \"$3\")\"",
                Harness.binDirectory + "/quiescectl", harness.bus.address, volume, harness.bus.directory,
            ])
            #expect(result.status == 64)
            #expect(result.stderr.contains("is not valid UTF-8"), "\(result.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: harness.bus.directory).allSatisfy { !$0.hasPrefix("to-") })
        }
    }
}
