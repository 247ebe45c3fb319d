import Foundation
import Quiesce
import QuiesceRequester
import QuiesceTestSupport
import Testing

@Suite("Soak", .serialized)
struct SoakTests {
    /// `make soak` runs 300; `make test` a shorter run of the same test.
    static let backups = Int(ProcessInfo.processInfo.environment["QUIESCE_SOAK_BACKUPS"] ?? "") ?? 30

    @Test("Back-to-back backups with 10 writers all succeed; RSS and open fds of quiesced and the writers stay flat")
    func soak() async throws {
        try await Harness.with { harness in
            let coordinator = try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            var writers: [ChildProcess] = []
            for index in 0..<10 {
                writers.append(try await harness.startFlakyWriter("soak\(index)", volume: volume, ["--level", ["front-end", "back-end", "system"][index % 3]]))
            }
            let client = QuiesceClient(connection: harness.connection)
            let warmUp = min(20, Self.backups / 2)
            var baseline: [(rssKiB: Int, fds: Int)] = []
            for iteration in 1...Self.backups {
                let destination = harness.bus.directory + "/backup"
                let document = try await BackupJob(volumes: [volume], destination: destination).run(with: client) { _ in }
                #expect(document.outcome == .succeeded, "backup \(iteration) was \(document.outcome)")
                #expect(document.writers.count == 10)
                try FileManager.default.removeItem(atPath: destination)
                if iteration == warmUp {
                    baseline = ([coordinator] + writers).map { Harness.footprint(of: $0.pid) }
                }
            }
            let final = ([coordinator] + writers).map { Harness.footprint(of: $0.pid) }
            let names = ["quiesced"] + (0..<10).map { "soak\($0)" }
            for index in names.indices {
                print("soak: \(names[index]) after \(warmUp) backups: RSS \(baseline[index].rssKiB) KiB, \(baseline[index].fds) fds; after \(Self.backups): RSS \(final[index].rssKiB) KiB, \(final[index].fds) fds")
                #expect(final[index].fds == baseline[index].fds, "\(names[index]) leaks file descriptors")
                #expect(final[index].rssKiB - baseline[index].rssKiB < 8 * 1024, "\(names[index]) grew by more than 8 MiB")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: harness.snapshotRoot).isEmpty)
        }
    }
}
