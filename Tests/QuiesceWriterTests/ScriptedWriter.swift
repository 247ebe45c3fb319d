import Quiesce
import QuiesceWriter

/// A writer whose handlers run closures given by the test.
final class ScriptedWriter: Writer, @unchecked Sendable {
    typealias Handler = @Sendable (ScriptedWriter, WriterEvent, WriterSession) async throws -> Bool
    let script: [WriterEvent: Handler]
    let volume: String

    init(volume: String = "/srv/app", maxComponents: Int = 2, script: [WriterEvent: Handler] = [:]) throws {
        self.script = script
        self.volume = volume
        try super.init(name: "scripted", classId: "00000000-0000-0000-0000-000000000001")
    }

    override func onIdentify(_ metadata: inout WriterMetadata) async throws {
        metadata.components = [
            Component(logicalPath: "db", name: "data", type: .database, files: [FileSpec(path: volume + "/data")]),
            Component(logicalPath: "db", name: "logs", type: .fileGroup, files: [FileSpec(path: volume + "/logs")]),
        ]
    }

    private func run(_ event: WriterEvent, _ session: WriterSession) async throws -> Bool {
        try await script[event]?(self, event, session) ?? true
    }

    override func onPrepareBackup(_ session: WriterSession) async throws -> Bool { try await run(.prepareForBackup, session) }
    override func onPrepareSnapshot(_ session: WriterSession) async throws -> Bool { try await run(.prepareForSnapshot, session) }
    override func onFreeze(_ session: WriterSession) async throws -> Bool { try await run(.freeze, session) }
    override func onThaw(_ session: WriterSession) async throws -> Bool { try await run(.thaw, session) }
    override func onPostSnapshot(_ session: WriterSession) async throws -> Bool { try await run(.postSnapshot, session) }
    override func onAbort(_ session: WriterSession) async throws -> Bool { try await run(.abort, session) }
    override func onBackupComplete(_ session: WriterSession) async throws -> Bool { try await run(.backupComplete, session) }
    override func onBackupShutdown(_ session: WriterSession) async throws -> Bool { try await run(.backupShutdown, session) }
    override func onPreRestore(_ session: WriterSession) async throws -> Bool { try await run(.preRestore, session) }
    override func onPostRestore(_ session: WriterSession) async throws -> Bool { try await run(.postRestore, session) }
}

struct SomeApplicationError: Error, CustomStringConvertible {
    var description: String { "the database is read-only" }
}
