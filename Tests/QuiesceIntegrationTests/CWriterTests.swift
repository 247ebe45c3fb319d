import Foundation
import Quiesce
import QuiesceBus
import QuiesceProtocol
import QuiesceRequester
import QuiesceTestSupport
import Testing

/// What the C writer printed for one event it received.
private struct CEvent: Decodable {
    var event: String
    var session: String
    var leaseMs: UInt32
    var backupMetadata: String

    enum CodingKeys: String, CodingKey {
        case event, session
        case leaseMs = "lease-ms"
        case backupMetadata = "backup-metadata"
    }
}

/// The C writer (Examples/CWriter, libdbus-1) on the test's bus, its data in `volume/name`.
private struct CWriter {
    let process: ChildProcess
    let journal: String

    static func start(_ harness: Harness, _ name: String, volume: String, _ arguments: [String] = []) async throws -> CWriter {
        let data = volume + "/" + name
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let process = try await harness.start(
            name, "quiesce-c-writer",
            ["--name", name, "--data", data, "--interface-xml", PrivateBus.repository + "/dbus/org.quiesce.Writer1.xml"] + arguments,
            waitFor: BusNames.writerBusName(name)
        )
        return CWriter(process: process, journal: data + "/journal.log")
    }

    func events(session: String? = nil) -> [CEvent] {
        process.output.split(separator: "\n").compactMap { line -> CEvent? in
            guard line.hasPrefix("{\"event\"") else { return nil }
            return try? JSONDecoder().decode(CEvent.self, from: Data(line.utf8))
        }.filter { session == nil || $0.session == session }
    }

    /// How many lines the application has appended to its journal.
    var journalLines: Int {
        ((try? String(contentsOfFile: journal, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// Whether the journal grows within `window`.
    func isWriting(within window: Duration = .milliseconds(300)) async throws -> Bool {
        let before = journalLines
        try await Task.sleep(for: window)
        return journalLines > before
    }
}

@Suite("The C writer (libdbus-1) takes part like any writer", .serialized)
struct CWriterTests {
    @Test("Beside a Swift writer: events in VSS order, its backup metadata in the document and back at restore, results that follow the schema")
    func backupAndRestore() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await CWriter.start(harness, "cwriter", volume: volume, ["--level", "front-end", "--freeze-timeout-ms", "20000"])
            try await harness.startFlakyWriter("swift", volume: volume)
            let destination = harness.bus.directory + "/backup"
            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", destination, "--json", "--require", "cwriter"])
            #expect(backup.status == 0, "\(backup.stderr)")
            let document = try JSONLines.backupDocument(backup.stdout)
            let record = try #require(document.writers.first { $0.metadata.name == "cwriter" })
            #expect(record.metadata.applicationLevel == .frontEnd)
            #expect(record.metadata.freezeTimeoutMilliseconds == 20000)
            #expect(record.components.map(\.consistency) == [.applicationConsistent])
            let metadata = try #require(record.components.first?.backupMetadata)
            #expect(metadata.hasPrefix("journal lines at PrepareForBackup: "))
            #expect(writer.events().map(\.event) == ["PrepareForBackup", "PrepareForSnapshot", "Freeze", "Thaw", "PostSnapshot", "BackupComplete", "BackupShutdown"])
            #expect(writer.events().first { $0.event == "Freeze" }?.leaseMs == 20000)

            let restore = try await harness.quiescectl(["restore", "--from", destination, "--yes"])
            #expect(restore.status == 0, "\(restore.stderr)")
            let restoreSession = try #require(writer.events().first { $0.event == "PreRestore" }?.session)
            #expect(writer.events(session: restoreSession).map(\.event) == ["PreRestore", "PostRestore", "BackupShutdown"])
            #expect(writer.events(session: restoreSession).first?.backupMetadata == metadata, "the metadata came back at restore")
            #expect(try await writer.isWriting(), "the application runs on after the restore")

            // Its Identify reply and its results follow the schemas.
            let identify = try await harness.connection.call(destination: BusNames.writerBusName("cwriter"), path: BusNames.writerPath, interface: Writer1.name, method: "Identify")
            let file = try harness.folder("documents") + "/identify.json"
            try #require(identify.first?.stringValue).write(toFile: file, atomically: true, encoding: .utf8)
            let check = try await harness.run("/usr/bin/python3", [PrivateBus.repository + "/Tests/Scripts/validate-json.py", "writer-metadata", file])
            #expect(check.status == 0, "\(check.stdout)")
        }
    }

    @Test("A veto with its code and message, a component failure message, State and LastError on busctl and in quiescectl writers")
    func vetoAndMessages() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await CWriter.start(harness, "cwriter", volume: volume, ["--veto", "Freeze:retryable:the journal is being rotated"])
            let vetoed = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup1", "--json"])
            #expect(vetoed.status == 3, "an optional writer's veto makes the backup partial\n\(vetoed.stderr)")
            let status = try #require(try JSONLines.backupDocument(vetoed.stdout).writers.first?.status)
            #expect(status.state == .failedAtFreeze)
            #expect(status.failure == .retryable)
            #expect(status.message == "the journal is being rotated")
            #expect(writer.events().map(\.event).suffix(4) == ["PrepareForSnapshot", "Freeze", "Abort", "BackupShutdown"], "a vetoed Freeze brings Abort")
            #expect(try await writer.isWriting(), "a vetoed Freeze holds nothing")
            // BackupShutdown leaves the failure on the properties, as the protocol says.
            #expect(try await harness.writerProperty("cwriter", "State") == "s \"failed-at-freeze\"")
            #expect(try await harness.writerProperty("cwriter", "LastError") == "s \"retryable\"")
            #expect(try await harness.writerProperty("cwriter", "LastMessage") == "s \"the journal is being rotated\"")
            let writers = try await harness.quiescectl(["writers"])
            let row = try #require(writers.stdout.split(separator: "\n").first { $0.hasPrefix("cwriter") })
            #expect(row.contains("failed-at-freeze") && row.contains("retryable"), "quiescectl writers follows its PropertiesChanged: \(row)")

            await writer.process.terminate()
            try await harness.waitForNameGone(BusNames.writerBusName("cwriter"))
            _ = try await CWriter.start(harness, "noted", volume: volume, ["--component-message", "PostSnapshot:the journal was checked"])
            let session = try await QuiesceClient(connection: harness.connection).createSession()
            _ = try await session.gatherWriterMetadata()
            try await session.addVolumes([volume])
            try await session.prepareForBackup()
            _ = try await session.doSnapshotSet()
            let noted = try #require(try await session.writerStatus().first { $0.name == "noted" })
            #expect(noted.component("data")?.failureMessages["PostSnapshot"] == "the journal was checked")
            #expect(noted.failure == nil)
            try await session.backupComplete(succeeded: true)
            try await session.close()
        }
    }

    @Test("The C writer answers events from anyone but the coordinator with AccessDenied and changes nothing")
    func senderCheck() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let writer = try await CWriter.start(harness, "cwriter", volume: try harness.folder("volume"))
            let call = try await harness.busctl(["call", BusNames.writerBusName("cwriter"), BusNames.writerPath, Writer1.name, "Freeze", "sa{sv}", "s1", "0"])
            #expect(call.status != 0)
            #expect(call.stderr.contains("writer events are accepted only from the owner of org.quiesce.Coordinator"), "\(call.stderr)")
            #expect(writer.events().isEmpty)
            #expect(try await writer.isWriting())
            #expect(try await harness.writerProperty("cwriter", "State") == "s \"stable\"")
        }
    }

    @Test("Frozen when quiesced is killed, the C writer thaws at once; frozen past its lease, it thaws on its own and Thaw learns why")
    func nothingStaysFrozen() async throws {
        try await Harness.with { harness in
            let coordinator = try await harness.startCoordinator(["--timeout", "freeze=30"])
            let volume = try harness.folder("volume")
            let writer = try await CWriter.start(harness, "cwriter", volume: volume, ["--level", "front-end"])
            // A back-end writer that hangs in Freeze keeps the front-end C writer frozen.
            try await harness.startFlakyWriter("stuck", volume: volume, ["--at", "Freeze", "--mode", "hang"])
            let backup = Task { try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup"]) }
            try await Harness.waitUntil("the C writer is frozen") { writer.events().last?.event == "Freeze" }
            #expect(try await writer.isWriting() == false, "Freeze holds the application's writes")
            coordinator.signal(SIGKILL)
            let resumed = try await Harness.waitUntil("the C writer writes again", timeout: .seconds(5)) { try await writer.isWriting(within: .milliseconds(100)) }
            #expect(resumed < .seconds(3))
            #expect(writer.process.output.contains("\"reason\": \"the coordinator left the bus\""))
            _ = try? await backup.value
        }
        try await Harness.with { harness in
            try await harness.startCoordinator(["--timeout", "freeze=30"])
            let volume = try harness.folder("volume")
            let writer = try await CWriter.start(harness, "cwriter", volume: volume, ["--level", "front-end", "--freeze-timeout-ms", "400"])
            try await harness.startFlakyWriter("slow", volume: volume, ["--at", "Freeze", "--mode", "slow", "--delay-ms", "1500"])
            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--json"])
            #expect(backup.status == 3, "\(backup.stderr)")
            #expect(writer.process.output.contains("the freeze lease ran out before Thaw"))
            let status = try #require(try JSONLines.backupDocument(backup.stdout).writers.first { $0.metadata.name == "cwriter" }?.status)
            #expect(status.state == .failedAtFreeze)
            #expect(status.failure == .timeout, "the late Thaw is answered with the lease's timeout")
            #expect(try await writer.isWriting())
        }
    }
}
