import Foundation
import Quiesce
import QuiesceProtocol
import Testing

/// dbus/schemas/NAME.schema.json, parsed.
private func schema(_ name: String) throws -> [String: Any] {
    let url = InterfaceFilesTests.dbusFolder.appendingPathComponent("schemas/\(name).schema.json")
    return try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
}

private func dictionary(_ value: Any?, _ keys: String...) -> [String: Any]? {
    var current = value
    for key in keys { current = (current as? [String: Any])?[key] }
    return current as? [String: Any]
}

@Suite("Schema files agree with the XML and the model")
struct SchemaFilesTests {
    @Test("Every enumeration in common.schema.json lists exactly the model's values")
    func enumerations() throws {
        let definitions = try #require(dictionary(try schema("common"), "$defs"))
        func values(_ name: String) -> [String] { (dictionary(definitions, name)?["enum"] as? [String]) ?? [] }
        #expect(values("writer-state") == WriterState.allCases.map(\.rawValue))
        #expect(values("failure-code") == FailureCode.allCases.map(\.rawValue))
        #expect(values("application-level") == ApplicationLevel.allCases.map(\.rawValue))
        #expect(values("restore-method") == RestoreMethod.allCases.map(\.rawValue))
        #expect(values("component-type") == ComponentType.allCases.map(\.rawValue))
        #expect(values("backup-type") == BackupType.allCases.map(\.rawValue))
        #expect(values("restore-target") == RestoreTarget.allCases.map(\.rawValue))
        #expect(values("writer-event") == WriterEvent.allCases.map(\.rawValue))
        let record = try #require(dictionary(try schema("session-record"), "properties"))
        #expect(dictionary(record, "last-phase")?["enum"] as? [String] == SessionPhase.allCases.map(\.rawValue))
        #expect(dictionary(record, "kind")?["enum"] as? [String] == SessionRecord.Kind.allCases.map(\.rawValue))
    }

    @Test("The event schemas name exactly the keys of Writer1.xml's key sets")
    func eventKeys() throws {
        let options = try #require(dictionary(try schema("event-options"), "properties"))
        #expect(Set(options.keys) == Set(Writer1.EventOptions.keys))
        let result = try schema("event-result")
        #expect(Set(try #require(dictionary(result, "properties")).keys) == Set(Writer1.EventResult.keys))
        #expect(Set(try #require(dictionary(result, "$defs", "component-report", "properties")).keys) == Set(Writer1.ComponentReport.keys))
        let failure = try #require(dictionary(try schema("common"), "$defs", "component-failure", "properties"))
        #expect(Set(failure.keys) == Set(Writer1.ComponentFailure.keys))
    }

    @Test("The metadata schema's required keys and defaults are what the decoder does")
    func metadataDefaults() throws {
        let metadata = try schema("writer-metadata")
        #expect(Set(metadata["required"] as? [String] ?? []) == ["name", "class-id", "instance-id"])
        let decoded = try JSONCoding.decode(WriterMetadata.self, from: #"{"name": "w", "class-id": "c", "instance-id": "i", "colour": "red"}"#)
        let properties = try #require(dictionary(metadata, "properties"))
        #expect(dictionary(properties, "application-level")?["default"] as? String == decoded.applicationLevel.rawValue)
        #expect(dictionary(properties, "freeze-timeout-ms")?["default"] as? Int == Int(decoded.freezeTimeoutMilliseconds))
        #expect(dictionary(properties, "restore-method")?["default"] as? String == decoded.restoreMethod.rawValue)
        #expect(decoded.components.isEmpty)
        let component = try JSONCoding.decode(Component.self, from: #"{"name": "d", "files": [{"path": "/srv"}]}"#)
        #expect(component == Component(name: "d", files: [FileSpec(path: "/srv")]))
        #expect(throws: (any Error).self) { try JSONCoding.decode(WriterMetadata.self, from: #"{"name": "w", "instance-id": "i"}"#) }
    }
}
