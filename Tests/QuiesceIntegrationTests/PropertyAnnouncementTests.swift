import Foundation
import Quiesce
import QuiesceBus
import QuiesceRequester
import QuiesceTestSupport
import Synchronization
import Testing

@Suite("Writers announce their properties once they settle", .serialized)
struct PropertyAnnouncementTests {
    @Test(
        "A backup's state changes reach listeners as one PropertiesChanged with the final state; reads and ListWriters are current at once; QUIESCE_PROPERTY_SETTLE_MS=0 announces every event",
        arguments: ["flaky-writer", "quiesce-c-writer"]
    )
    func coalescedSignals(program: String) async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            var signals: [String: SignalLog] = [:]
            var subscriptions: [SignalSubscription] = []
            // A settle time longer than the whole backup (2 s, the most), and none at all.
            for (name, settle) in [("settled", "2000"), ("eager", "0")] {
                let data = try harness.folder("volume/\(name)")
                try "data\n".write(toFile: data + "/file.txt", atomically: true, encoding: .utf8)
                try await harness.start(
                    name, program, ["--name", name, "--data", data], environment: ["QUIESCE_PROPERTY_SETTLE_MS": settle], waitFor: BusNames.writerBusName(name)
                )
                let owner = try #require(try await harness.connection.nameOwner(BusNames.writerBusName(name)))
                let received = SignalLog()
                signals[name] = received
                subscriptions.append(try await harness.connection.subscribe(
                    sender: owner, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged", path: BusNames.writerPath
                ) { signal in
                    if let changed = signal.arguments.dropFirst().first?.stringKeyedDictionary { received.changes.withLock { $0.append(changed) } }
                })
            }
            defer { subscriptions.forEach { $0.cancel() } }

            // A whole backup sequence with the null provider: events as fast as the bus carries them.
            let clock = ContinuousClock()
            let started = clock.now
            let session = try await QuiesceClient(connection: harness.connection).createSession()
            #expect(try await session.gatherWriterMetadata().count == 2)
            try await session.addVolumes([volume])
            try await session.prepareForBackup()
            _ = try await session.doSnapshotSet(provider: "null")
            // ListWriters shows what the writers answered as soon as the step ends, before the
            // settled writer has announced anything.
            let during = try JSONCoding.decode([WriterSummary].self, from: try await harness.quiescectl(["writers", "--json"]).stdout)
            #expect(during.map(\.state) == ["waiting-for-backup-complete", "waiting-for-backup-complete"], "\(during)")
            #expect(try await harness.writerProperty("settled", "State") == "s \"waiting-for-backup-complete\"")
            try await session.backupComplete(succeeded: true)
            #expect(try await session.close().allSatisfy { !$0.hasFailed })
            let took = clock.now - started
            // Current at once, before any announcement of the settled writer.
            #expect(try await harness.writerProperty("settled", "State") == "s \"stable\"")
            let listed = try JSONCoding.decode([WriterSummary].self, from: try await harness.quiescectl(["writers", "--json"]).stdout)
            #expect(listed.allSatisfy { $0.state == "stable" && $0.lastError == "no-error" }, "\(listed)")

            _ = try await Harness.waitUntil("the settled writer announces", timeout: .seconds(10)) { signals["settled"]!.changes.withLock { !$0.isEmpty } }
            try await Task.sleep(for: .milliseconds(2500))
            let settled = signals["settled"]!.changes.withLock { $0 }
            let eager = signals["eager"]!.changes.withLock { $0 }
            // At most one announcement per 2 s of changes (a loaded machine stretches the backup).
            let most = 1 + Int((took / .seconds(2)).rounded(.up))
            #expect(settled.count <= max(2, most), "one announcement for the whole backup, one more per 2 s it took (\(took)): \(settled)")
            let finalSettled = settled.reduce(into: [String: BusValue]()) { $0.merge($1) { _, new in new } }
            #expect(finalSettled["State"]?.stringValue == "stable")
            #expect((finalSettled["LastError"]?.stringValue ?? "no-error") == "no-error", "\(finalSettled)")
            #expect(eager.count >= 7, "PrepareForBackup to BackupShutdown, one each: \(eager.count)")
            let eagerStates = eager.compactMap { $0["State"]?.stringValue }
            #expect(eagerStates.contains("waiting-for-thaw"), "\(eagerStates)")
            #expect(eagerStates.last == "stable")
        }
    }
}

/// The changed properties of each PropertiesChanged one writer emitted, in order.
private final class SignalLog: Sendable {
    let changes = Mutex<[[String: BusValue]]>([])
}
