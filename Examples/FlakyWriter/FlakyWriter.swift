import Foundation
import Quiesce
import QuiesceWriter

/// What the flaky writer does wrong, and when.
struct Misbehaviour: Sendable {
    /// The event at which it misbehaves.
    var event: WriterEvent?
    /// Veto with this code (when neither hang nor crash is set).
    var code: FailureCode = .retryable
    /// The veto's message.
    var message = "flaky-writer vetoed on purpose"
    /// How many times to misbehave before succeeding (0: always).
    var times = 0
    /// Hang in the handler instead of vetoing.
    var hang = false
    /// Kill the process in the handler instead of vetoing.
    var crash = false
}

/// A writer that vetoes, hangs or crashes at a chosen event, for demos and tests. It prints
/// every event it receives to standard error as `EVENT <name> <session>`.
final class FlakyWriter: Writer, @unchecked Sendable {
    let dataDirectory: String
    let misbehaviour: Misbehaviour
    private let counter = Counter()

    init(name: String, level: ApplicationLevel, dataDirectory: String, misbehaviour: Misbehaviour) {
        self.dataDirectory = dataDirectory
        self.misbehaviour = misbehaviour
        super.init(
            name: name, classId: "a3c1f7e2-5d4b-4e8a-9f60-2b1d7c9e4f10", applicationLevel: level,
            freezeTimeout: .seconds(60)
        )
    }

    override func onIdentify(_ metadata: inout WriterMetadata) async throws {
        metadata.components = [Component(name: "data", caption: "Files of \(name)", files: [FileSpec(path: dataDirectory, recursive: true)])]
    }

    private func act(_ event: WriterEvent, _ session: WriterSession) async throws -> Bool {
        FileHandle.standardError.write(Data("EVENT \(event.methodName) \(session.id)\n".utf8))
        guard event == misbehaviour.event else { return true }
        let count = await counter.next()
        if misbehaviour.times > 0, count > misbehaviour.times { return true }
        if misbehaviour.crash {
            FileHandle.standardError.write(Data("CRASH at \(event.methodName)\n".utf8))
            kill(getpid(), SIGKILL)
        }
        if misbehaviour.hang {
            while true { try? await Task.sleep(for: .seconds(3600)) }
        }
        try setWriterFailure(misbehaviour.code, message: misbehaviour.message)
        return true
    }

    override func onPrepareBackup(_ session: WriterSession) async throws -> Bool { try await act(.prepareForBackup, session) }
    override func onPrepareSnapshot(_ session: WriterSession) async throws -> Bool { try await act(.prepareForSnapshot, session) }
    override func onFreeze(_ session: WriterSession) async throws -> Bool { try await act(.freeze, session) }
    override func onThaw(_ session: WriterSession) async throws -> Bool { try await act(.thaw, session) }
    override func onPostSnapshot(_ session: WriterSession) async throws -> Bool { try await act(.postSnapshot, session) }
    override func onAbort(_ session: WriterSession) async throws -> Bool { try await act(.abort, session) }
    override func onBackupComplete(_ session: WriterSession) async throws -> Bool { try await act(.backupComplete, session) }
    override func onBackupShutdown(_ session: WriterSession) async throws -> Bool { try await act(.backupShutdown, session) }
    override func onPreRestore(_ session: WriterSession) async throws -> Bool { try await act(.preRestore, session) }
    override func onPostRestore(_ session: WriterSession) async throws -> Bool { try await act(.postRestore, session) }
}

/// Counts misbehaviours across sessions.
actor Counter {
    private var value = 0
    func next() -> Int {
        value += 1
        return value
    }
}
