import Foundation
import Quiesce
import QuiesceProtocol
import QuiesceBus
import QuiesceRequester
import QuiesceTestSupport
import Testing

/// One event a foreign writer received, as it printed it.
private struct ReceivedEvent: Decodable {
    var event: String
    var session: String
    var options: [String: JSONValue]
}

/// Enough of JSON to read the options a foreign writer printed.
private enum JSONValue: Decodable, Equatable {
    case number(Double), string(String), bool(Bool), list([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .list(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }
}

/// The Python writer written from the XML, the schemas and docs/protocol.md alone.
private struct ForeignWriter {
    let process: ChildProcess

    static func start(_ harness: Harness, _ name: String, volume: String, _ arguments: [String] = []) async throws -> ForeignWriter {
        let data = volume + "/" + name
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try "data of \(name)\n".write(toFile: data + "/file.txt", atomically: true, encoding: .utf8)
        let process = try await harness.startPython(
            name, "Tests/Scripts/foreign-writer.py", ["--name", name, "--data", data] + arguments, waitFor: BusNames.writerBusName(name)
        )
        return ForeignWriter(process: process)
    }

    /// The events it received, in order, for one session (or all).
    func events(session: String? = nil) -> [ReceivedEvent] {
        process.output.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("{") else { return nil }
            return try? JSONDecoder().decode(ReceivedEvent.self, from: Data(line.utf8))
        }.filter { session == nil || $0.session == session }
    }

    func eventNames(session: String) -> [String] { events(session: session).map(\.event) }
}

extension RequesterSession {
    /// The session id, the last element of its object path.
    var id: String { String(path.split(separator: "/").last!) }
}

@Suite("Contract: what dbus/*.xml and docs/protocol.md promise a writer in any language", .serialized)
struct ContractTests {
    @Test("A writer sending only the required metadata keys and freeze-timeout-ms takes part, and its lease is its timeout")
    func minimalMetadata() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await ForeignWriter.start(harness, "foreign", volume: volume, ["--freeze-timeout-ms", "1500"])
            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--json", "--require", "foreign"])
            #expect(backup.status == 0, "\(backup.stderr)")
            let document = try JSONLines.backupDocument(backup.stdout)
            let record = try #require(document.writers.first { $0.metadata.name == "foreign" })
            #expect(record.metadata.freezeTimeoutMilliseconds == 1500)
            #expect(record.metadata.applicationLevel == .backEnd)
            #expect(record.components.map(\.consistency) == [.applicationConsistent])
            let freeze = try #require(writer.events().first { $0.event == "Freeze" })
            #expect(freeze.options["lease-ms"] == .number(1500))
            #expect(writer.events().map(\.event) == [
                "PrepareForBackup", "PrepareForSnapshot", "Freeze", "Thaw", "PostSnapshot", "BackupComplete", "BackupShutdown",
            ])
        }
    }

    @Test("A writer left out at Identify shows in the status, the document and quiescectl's table, and fails a requester that requires it")
    func leftOutWriter() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("good", volume: volume)
            let broken = try await ForeignWriter.start(harness, "broken", volume: volume, ["--broken-metadata"])

            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup"])
            #expect(backup.status == 3, "a left-out writer makes the backup partial\n\(backup.stdout)\n\(backup.stderr)")
            let row = try #require(backup.stdout.split(separator: "\n").first { $0.hasPrefix("broken") })
            #expect(row.contains("failed-at-identify"), "\(row)")
            #expect(row.contains("class-id"), "the reason names the missing key: \(row)")
            #expect(backup.stdout.contains("backup partial"))
            let document = try JSONCoding.decode(BackupDocument.self, from: String(contentsOfFile: harness.bus.directory + "/backup/backup.json", encoding: .utf8))
            #expect(document.outcome == .partial)
            #expect(document.writers.first { $0.metadata.name == "broken" }?.status.state == .failedAtIdentify)
            #expect(document.writers.first { $0.metadata.name == "good" }?.components.map(\.consistency) == [.applicationConsistent])
            #expect(broken.events().isEmpty, "a left-out writer gets no event")

            let required = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup2", "--require", "broken"])
            #expect(required.status == 1)
            #expect(required.stderr.contains("required writer broken failed Identify"), "\(required.stderr)")

            // A requester on the bus, not quiescectl: PrepareForBackup fails with WriterFailed.
            let session = try await QuiesceClient(connection: harness.connection).createSession()
            #expect(try await session.gatherWriterMetadata().map(\.name) == ["good"])
            #expect(try await session.gatherWriterStatus().first { $0.name == "broken" }?.state == .failedAtIdentify)
            try await session.setWriterPolicy([(writer: "broken", component: nil, policy: .required)])
            try await session.addVolumes([volume])
            let refusal = await #expect(throws: QuiesceError.self) { try await session.prepareForBackup() }
            #expect(refusal?.code == .writerFailed)
            #expect(refusal?.message.contains("required writer broken has failed") == true, "\(String(describing: refusal))")
            try await session.close()
        }
    }

    @Test("AbortBackup after DoSnapshotSet sends Abort to the writers, then Close sends BackupShutdown")
    func abortAfterSnapshot() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await ForeignWriter.start(harness, "foreign", volume: volume)
            let session = try await QuiesceClient(connection: harness.connection).createSession()
            _ = try await session.gatherWriterMetadata()
            try await session.addVolumes([volume])
            try await session.prepareForBackup()
            _ = try await session.doSnapshotSet()
            try await session.abortBackup()
            try await session.close()
            #expect(writer.eventNames(session: session.id) == [
                "PrepareForBackup", "PrepareForSnapshot", "Freeze", "Thaw", "PostSnapshot", "Abort", "BackupShutdown",
            ])
        }
    }

    @Test("A requester that leaves after DoSnapshotSet gets its writers Abort and BackupShutdown")
    func requesterLeavesAfterSnapshot() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await ForeignWriter.start(harness, "foreign", volume: volume)
            let connection = try await BusConnection.connect(to: .address(harness.bus.address))
            let session = try await QuiesceClient(connection: connection).createSession()
            _ = try await session.gatherWriterMetadata()
            try await session.addVolumes([volume])
            try await session.prepareForBackup()
            _ = try await session.doSnapshotSet()
            await connection.close()
            _ = try await Harness.waitUntil("BackupShutdown reaches the writer") { writer.eventNames(session: session.id).last == "BackupShutdown" }
            #expect(writer.eventNames(session: session.id).suffix(2) == ["Abort", "BackupShutdown"])
        }
    }

    @Test("Close of a restore session sends BackupShutdown after PostRestore")
    func restoreEndsWithShutdown() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await ForeignWriter.start(harness, "foreign", volume: volume)
            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--json"])
            #expect(backup.status == 0, "\(backup.stderr)")
            let document = try JSONLines.backupDocument(backup.stdout)
            let session = try await QuiesceClient(connection: harness.connection).createSession()
            _ = try await session.gatherWriterMetadata()
            try await session.preRestore(document, alternateLocation: harness.bus.directory + "/elsewhere")
            try await session.postRestore(succeeded: true)
            try await session.close()
            #expect(writer.eventNames(session: session.id) == ["PreRestore", "PostRestore", "BackupShutdown"])
            let preRestore = try #require(writer.events(session: session.id).first)
            #expect(preRestore.options["restore-target"] == .string("alternate"))
        }
    }

    @Test("A writer answers events from anyone but the coordinator with org.quiesce.Error.AccessDenied, as Writer1.xml lists")
    func strangerIsDenied() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("sdk", volume: volume)
            _ = try await ForeignWriter.start(harness, "foreign", volume: volume)
            for name in ["sdk", "foreign"] {
                let call = try await harness.busctl([
                    "call", BusNames.writerBusName(name), BusNames.writerPath, Writer1.name, "Freeze", "sa{sv}", "s1", "0",
                ])
                #expect(call.status != 0)
                #expect(call.stderr.contains("writer events are accepted only from the owner of org.quiesce.Coordinator"), "\(name): \(call.stderr)")
            }
            let xml = try String(contentsOfFile: PrivateBus.repository + "/dbus/org.quiesce.Writer1.xml", encoding: .utf8)
            #expect(xml.contains("org.quiesce.Error.AccessDenied"))
        }
    }
}
