import Foundation
import Quiesce
import QuiesceBus
import QuiesceTestSupport
import Testing

@Suite("Session history and each writer's last failure", .serialized)
struct HistoryTests {
    @Test("A veto stays visible after the writer is stable again: in quiescectl writers, history, and across a restart of quiesced")
    func vetoRemembered() async throws {
        try await Harness.with { harness in
            let coordinator = try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("good", volume: volume)
            try await harness.startFlakyWriter("vetoing", volume: volume, ["--at", "Freeze", "--code", "retryable", "--message", "try later"])
            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup"])
            #expect(backup.status == 3, "\(backup.stderr)")

            // The writer's own state is stable again (BackupShutdown succeeded), yet the table says what happened.
            #expect(try await harness.writerProperty("vetoing", "LastError") == "s \"no-error\"")
            let writers = try await harness.quiescectl(["writers"])
            let line = try #require(writers.stdout.split(separator: "\n").first { $0.hasPrefix("vetoing") })
            #expect(line.contains("retryable at Freeze, ") && line.contains(": try later"), "\(writers.stdout)")
            #expect(writers.stdout.split(separator: "\n").first { $0.hasPrefix("good") }?.hasSuffix(" -") == true, "\(writers.stdout)")

            let list = try await harness.quiescectl(["history"])
            #expect(list.status == 0, "\(list.stderr)")
            #expect(list.stdout.contains("backup  partial") && list.stdout.contains("vetoing (retryable)"), "\(list.stdout)")
            let records = try JSONCoding.decode([SessionRecord].self, from: try await harness.quiescectl(["history", "--json"]).stdout)
            let record = try #require(records.first)
            #expect(records.count == 1)
            #expect(record.kind == .backup && record.outcome == .partial && record.lastPhase == .backupComplete)
            #expect(record.endedBecause == "closed by its requester")
            #expect(record.ownerUid == getuid())
            let vetoing = try #require(record.writers.first { $0.status.name == "vetoing" })
            #expect(vetoing.status.failure == .retryable && vetoing.status.failedEvent == .freeze && vetoing.status.message == "try later")
            #expect(Set(vetoing.consistency.values) == [.crashConsistent])
            #expect(Set(try #require(record.writers.first { $0.status.name == "good" }).consistency.values) == [.applicationConsistent])
            #expect(record.volumes.map(\.volume) == [volume] && record.volumes.first?.provider != nil)
            #expect(record.timings["Freeze"] != nil && record.timings["snapshot"] != nil)

            let shown = try await harness.quiescectl(["history", record.id])
            #expect(shown.status == 0, "\(shown.stderr)")
            #expect(shown.stdout.contains("backup partial") && shown.stdout.contains("crash-consistent") && shown.stdout.contains("try later"), "\(shown.stdout)")

            // Kept on disk: a restarted quiesced still has it.
            await coordinator.terminate(grace: .seconds(5))
            try await harness.waitForNameGone(BusNames.coordinator)
            try await harness.start("quiesced-again", "quiesced", ["--state-dir", harness.stateDirectory], waitFor: BusNames.coordinator)
            let again = try JSONCoding.decode(SessionRecord.self, from: try await harness.quiescectl(["history", record.id, "--json"]).stdout)
            #expect(again == record)
            #expect(try await harness.quiescectl(["writers"]).stdout.contains(": try later"))
        }
    }

    @Test("The history keeps the newest history-limit sessions; a failed step and an abandoned session are recorded")
    func boundedAndFailures() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator(["--history-limit", "2"])
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("vetoing", volume: volume, ["--at", "Freeze", "--code", "non-retryable", "--message", "broken"])
            let first = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/one"])
            #expect(first.status == 3)
            let firstId = try #require(try JSONCoding.decode([SessionRecord].self, from: try await harness.quiescectl(["history", "--json"]).stdout).first?.id)

            let required = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/two", "--require", "vetoing"])
            #expect(required.status == 1)
            // A requester that leaves after preparing: the session is abandoned.
            let python = """
                import dbus, sys
                bus = dbus.bus.BusConnection(sys.argv[1])
                path = bus.get_object('org.quiesce.Coordinator', '/org/quiesce/Coordinator').CreateSession({}, dbus_interface='org.quiesce.Coordinator1')
                session = dbus.Interface(bus.get_object('org.quiesce.Coordinator', path), 'org.quiesce.Session1')
                session.GatherWriterMetadata()
                session.AddVolumes([sys.argv[2]])
                session.PrepareForBackup({})
                print(path.split('/')[-1])
                """
            let script = harness.bus.directory + "/leave.py"
            try python.write(toFile: script, atomically: true, encoding: .utf8)
            let left = try await harness.run("/usr/bin/python3", [script, harness.bus.address, volume])
            #expect(left.status == 0, "\(left.stderr)")
            let leftId = left.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

            var records: [SessionRecord] = []
            try await Harness.waitUntil("the abandoned session is in the history") {
                records = try JSONCoding.decode([SessionRecord].self, from: try await harness.quiescectl(["history", "--json"]).stdout)
                return records.first?.id == leftId
            }
            #expect(records.count == 2)
            #expect(records[0].outcome == .failed && records[0].lastPhase == .prepared && records[0].endedBecause.contains("left the bus"))
            #expect(records[1].outcome == .failed && records[1].error?.contains("DoSnapshotSet: org.quiesce.Error.WriterFailed") == true, "\(records[1])")

            let gone = try await harness.quiescectl(["history", firstId])
            #expect(gone.status == 1)
            #expect(gone.stderr.contains("no session \(firstId) in the history"), "\(gone.stderr)")
            let bad = try await harness.quiescectl(["history", "--count", "0"])
            #expect(bad.status != 0 && bad.stderr.contains("--count must be 1 to 1000"))
        }
    }

    @Test("Only those who may run backups read the history; quiescectl writers says so to others")
    func historyAccess() async throws {
        guard Harness.isRoot else {
            print("SKIP: HistoryTests.historyAccess needs root (it runs quiescectl as nobody; CI runs as root)")
            return
        }
        try await Harness.with(config: "system-like-bus.conf") { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("vetoing", volume: volume, ["--at", "Freeze", "--code", "retryable", "--message", "try later"])
            _ = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup"])
            let quiescectl = Harness.binDirectory + "/quiescectl"
            let history = try await harness.runAsNobody(quiescectl, ["history", "--address", harness.bus.address])
            #expect(history.status == 1)
            // The bus policy refuses the call before quiesced, which refuses it too (its own uid check).
            #expect(history.stderr.lowercased().contains("denied"), "\(history.stderr)")
            let writers = try await harness.runAsNobody(quiescectl, ["writers", "--address", harness.bus.address])
            #expect(writers.status == 0, "\(writers.stderr)")
            #expect(writers.stdout.contains("unknown (history not readable)") && !writers.stdout.contains("try later"), "\(writers.stdout)")
        }
    }
}
