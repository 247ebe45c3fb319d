import Foundation
import Quiesce
import QuiesceBus
import QuiesceProtocol
import QuiesceRequester
import QuiesceTestSupport
import Testing

/// A D-Bus value as JSON, the way the schemas of event options and results show them.
private func json(_ value: BusValue) -> Any {
    switch value {
    case .bool(let flag): flag
    case .byte(let number): Int(number)
    case .int16(let number): Int(number)
    case .uint16(let number): Int(number)
    case .int32(let number): Int(number)
    case .uint32(let number): Int(number)
    case .int64(let number): Int(number)
    case .uint64(let number): number
    case .double(let number): number
    case .string(let text), .objectPath(let text), .signature(let text): text
    case .variant(let inner): json(inner)
    case .array(_, let elements): elements.map(json)
    case .structure(let fields): fields.map(json)
    case .dictionary(_, _, let entries):
        Dictionary(entries.map { (json($0.key) as? String ?? "\($0.key)", json($0.value)) }, uniquingKeysWith: { $1 })
    }
}

/// Validates files against a schema with python3-jsonschema (independent of our decoders).
private func validate(_ harness: Harness, _ schema: String, _ files: [String]) async throws {
    let result = try await harness.run("/usr/bin/python3", [PrivateBus.repository + "/Tests/Scripts/validate-json.py", schema] + files)
    #expect(result.status == 0, "\(schema):\n\(result.stdout)\(result.stderr)")
}

@Suite("Schemas: what real processes send is what dbus/schemas says", .serialized)
struct SchemaTests {
    @Test("Identify replies, event options and results, writer status and the backup document validate against their schemas")
    func realProcessesFollowTheSchemas() async throws {
        try await Harness.with { harness in
            let coordinator = try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("sdk", volume: volume, ["--at", "PrepareForBackup", "--mode", "component", "--code", "retryable"])
            let data = volume + "/foreign"
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            let foreign = try await harness.startPython("foreign", "Tests/Scripts/foreign-writer.py", ["--name", "foreign", "--data", data], waitFor: BusNames.writerBusName("foreign"))
            try FileManager.default.createDirectory(atPath: volume + "/c", withIntermediateDirectories: true)
            try await harness.start("c", "quiesce-c-writer", ["--name", "c", "--data", volume + "/c", "--component-message", "PrepareForBackup:noted"], waitFor: BusNames.writerBusName("c"))
            try FileManager.default.createDirectory(atPath: volume + "/broken", withIntermediateDirectories: true)
            try await harness.startPython(
                "broken", "Tests/Scripts/foreign-writer.py", ["--name", "broken", "--data", volume + "/broken", "--broken-metadata"], waitFor: BusNames.writerBusName("broken")
            )
            let folder = try harness.folder("documents")
            var files: [String: [String]] = [:]
            func save(_ schema: String, _ name: String, _ text: String) throws {
                let path = "\(folder)/\(name).json"
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                files[schema, default: []].append(path)
            }

            // Identify, as any caller sees it.
            for writer in ["sdk", "foreign", "c"] {
                let reply = try await harness.connection.call(destination: BusNames.writerBusName(writer), path: BusNames.writerPath, interface: Writer1.name, method: "Identify")
                try save("writer-metadata", "identify-\(writer)", try #require(reply.first?.stringValue))
            }

            // A backup: the document, and the status mid-session (raw, as on the bus).
            let session = try await QuiesceClient(connection: harness.connection).createSession()
            _ = try await session.gatherWriterMetadata()
            try await session.addVolumes([volume])
            try await session.prepareForBackup()
            let status = try await harness.connection.call(destination: BusNames.coordinator, path: session.path, interface: Session1.name, method: "GetWriterStatus")
            try save("writer-status", "status", try #require(status.first?.stringValue))
            try await session.abortBackup()
            try await session.close()
            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup"])
            #expect(backup.status == 3, "the broken writer and the component failure make it partial\n\(backup.stderr)")
            files["backup-document", default: []].append(harness.bus.directory + "/backup/backup.json")
            // The history of both sessions, raw, as on the bus.
            let history = try await harness.connection.call(
                destination: BusNames.coordinator, path: BusNames.coordinatorPath, interface: Coordinator1.name, method: "ListHistory", arguments: [.uint32(10)]
            )
            let historyText = try #require(history.first?.stringValue)
            let records = try #require(try JSONSerialization.jsonObject(with: Data(historyText.utf8)) as? [Any])
            #expect(records.count == 2)
            for (index, record) in records.enumerated() {
                try save("session-record", "record-\(index)", String(decoding: try JSONSerialization.data(withJSONObject: record), as: UTF8.self))
            }

            // A kept set, raw, as on the bus.
            let kept = try await harness.quiescectl(["snapshot", "create", "--volume", volume])
            #expect(kept.status == 3, "\(kept.stderr)")
            let sets = try await harness.connection.call(destination: BusNames.coordinator, path: BusNames.coordinatorPath, interface: Coordinator1.name, method: "ListSnapshotSets")
            let setsText = try #require(sets.first?.stringValue)
            for (index, set) in try #require(try JSONSerialization.jsonObject(with: Data(setsText.utf8)) as? [Any]).enumerated() {
                try save("kept-snapshot-set", "kept-\(index)", String(decoding: try JSONSerialization.data(withJSONObject: set), as: UTF8.self))
            }
            #expect(files["kept-snapshot-set"]?.count == 1)

            // What the foreign writer received from quiesced.
            for (index, line) in foreign.output.split(separator: "\n").filter({ $0.hasPrefix("{") }).enumerated() {
                let event = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let options = try JSONSerialization.data(withJSONObject: try #require(event["options"]))
                try save("event-options", "options-\(index)", String(decoding: options, as: UTF8.self))
            }

            // Event results, from the SDK, Python and C writers, with this test as the coordinator.
            await coordinator.terminate()
            try await harness.waitForNameGone(BusNames.coordinator)
            try await harness.connection.requestName(BusNames.coordinator)
            let options: BusValue = EventOptions(backupType: .full, components: ["data"], volumes: [volume]).busValue
            for writer in ["sdk", "foreign", "c"] {
                for event in ["PrepareForBackup", "BackupShutdown"] {
                    let reply = try await harness.connection.call(
                        destination: BusNames.writerBusName(writer), path: BusNames.writerPath, interface: Writer1.name, method: event,
                        arguments: [.string("schema-test"), options]
                    )
                    let result = try JSONSerialization.data(withJSONObject: json(try #require(reply.first)))
                    try save("event-result", "result-\(writer)-\(event)", String(decoding: result, as: UTF8.self))
                    if writer == "sdk", event == "PrepareForBackup" {
                        let report = try EventReply(try Writer1.EventResult(busValue: reply[0])).components.first
                        #expect(report?.failure == ComponentFailure(code: .retryable, applicationError: 42, message: "flaky-writer vetoed on purpose"))
                        #expect(report?.backupMetadata == "set by flaky-writer")
                    }
                }
            }

            #expect(files["event-options"]?.count ?? 0 >= 7)
            for (schema, paths) in files.sorted(by: { $0.key < $1.key }) {
                try await validate(harness, schema, paths)
            }
            // And a document that breaks the schema is caught (the check is not vacuous).
            try save("broken", "bad-metadata", #"{"name": "x", "instance-id": "i", "components": [{"name": "d", "type": "db", "files": []}]}"#)
            let bad = try await harness.run("/usr/bin/python3", [PrivateBus.repository + "/Tests/Scripts/validate-json.py", "writer-metadata", folder + "/bad-metadata.json"])
            #expect(bad.status == 1)
            #expect(bad.stdout.contains("'class-id' is a required property"))
            #expect(bad.stdout.contains("'db' is not one of"))
        }
    }
}
