import Foundation
import Quiesce
import QuiesceBus
import QuiesceRequester
import QuiesceTestSupport
import Testing

/// Starts the Python writer that sends more than the coordinator accepts.
@discardableResult
private func startOversized(_ harness: Harness, _ name: String, volume: String, _ arguments: [String]) async throws -> ChildProcess {
    let data = volume + "/" + name
    try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
    return try await harness.startPython(
        name, "Tests/Scripts/oversized-writer.py", ["--name", name, "--data", data] + arguments, waitFor: BusNames.writerBusName(name)
    )
}

@Suite("Bounded input: no writer can make the coordinator exceed the bus or its memory", .serialized)
struct BoundedInputTests {
    @Test("An Identify reply over 1 MiB, or with too many components, leaves that writer out, with the reason in its status")
    func oversizedIdentify() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("w", volume: volume)
            try await startOversized(harness, "big", volume: volume, ["--identify-bytes", "\(2 << 20)"])
            try await startOversized(harness, "many", volume: volume, ["--components", "2000"])
            let session = try await QuiesceClient(connection: harness.connection).createSession()
            #expect(try await session.gatherWriterMetadata().map(\.name) == ["w"])
            let status = try await session.writerStatus()
            let big = try #require(status.first { $0.name == "big" })
            #expect(big.state == .failedAtIdentify)
            #expect(big.failure == .nonRetryable)
            #expect(big.message.contains("bytes; at most 1048576"), "\(big.message)")
            let many = try #require(status.first { $0.name == "many" })
            #expect(many.message.contains("declares 2001 components; at most 1024"), "\(many.message)")
            try await session.close()

            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup"])
            #expect(backup.status == 3, "writers left out make the backup partial\n\(backup.stdout)\n\(backup.stderr)")
            #expect(backup.stderr.contains("writer big left out: Identify failed"))
        }
    }

    @Test("20 MB of metadata and 10 000 reports about components that do not exist are refused and recorded; quiesced stays, the others are backed up")
    func oversizedReplies() async throws {
        try await Harness.with { harness in
            let coordinator = try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("w", volume: volume)
            try await startOversized(harness, "heavy", volume: volume, ["--metadata-bytes", "20000000"])
            try await startOversized(harness, "chatty", volume: volume, ["--report-components", "10000"])
            for attempt in 1...2 {
                let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup\(attempt)", "--json"])
                #expect(backup.status == 3, "\(backup.stderr)")
                let document = try JSONLines.backupDocument(backup.stdout)
                let heavy = try #require(document.writers.first { $0.metadata.name == "heavy" })
                #expect(heavy.status.failure == .nonRetryable)
                #expect(heavy.status.message.contains("is 20000000 bytes; at most 262144 (org.quiesce.Error.TooLarge)"), "\(heavy.status.message)")
                #expect(heavy.components.allSatisfy { $0.consistency == .crashConsistent && $0.backupMetadata == nil })
                let chatty = try #require(document.writers.first { $0.metadata.name == "chatty" })
                #expect(chatty.status.message.contains("holds 10000 component reports; at most 1024"), "\(chatty.status.message)")
                #expect(chatty.status.components.isEmpty)
                #expect(document.writers.first { $0.metadata.name == "w" }?.components.map(\.consistency) == [.applicationConsistent])
                #expect(coordinator.isRunning)
            }
        }
    }

    @Test("After large valid inputs quiesced's memory comes back near where it started")
    func memoryAfterLargeInputs() async throws {
        try await Harness.with { harness in
            let coordinator = try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            // Just under the limits: 1000 components in an Identify reply of about 900 KiB, four times over.
            for index in 0..<4 {
                try await startOversized(harness, "large\(index)", volume: volume, ["--components", "1000", "--identify-bytes", "\(700 << 10)", "--metadata-bytes", "\(250 << 10)"])
            }
            let client = QuiesceClient(connection: harness.connection)
            func backup() async throws {
                let session = try await client.createSession()
                #expect(try await session.gatherWriterMetadata().count == 4)
                try await session.addVolumes([volume])
                try await session.prepareForBackup()
                _ = try await session.doSnapshotSet(provider: "null")
                _ = try await session.backupDocument()
                try await session.backupComplete(succeeded: true)
                let statuses = try await session.close()
                #expect(statuses.allSatisfy { !$0.hasFailed }, "\(statuses.map(\.message))")
            }
            /// quiesced's RSS once it has given back what the last session freed.
            func settled() async throws -> Int {
                try await Task.sleep(for: .seconds(1))
                return Harness.footprint(of: coordinator.pid).rssKiB
            }
            let idle = try await settled()
            try await backup()
            let first = try await settled()
            for _ in 0..<5 { try await backup() }
            let last = try await settled()
            print("bounded input: quiesced RSS idle \(idle) KiB, after one large session \(first) KiB, after five more \(last) KiB")
            print(coordinator.output.components(separatedBy: "\n").filter { $0.contains("DEINIT") || $0.contains("closed") }.joined(separator: "\n"))
            #expect(last - first < 4 * 1024, "quiesced kept growing: \(first) KiB, then \(last) KiB")
            #expect(last - idle < 16 * 1024, "quiesced did not come back near its idle size: \(idle) KiB, then \(last) KiB")
        }
    }
}
