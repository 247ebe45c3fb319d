#if canImport(Glibc)
import Glibc
#endif
import Logging
import Quiesce
import QuiesceWriter

/// How the flaky writer misbehaves.
enum MisbehaviourMode: String, Sendable, CaseIterable {
    /// setWriterFailure with the chosen code, then return true.
    case veto
    /// Return false.
    case `false`
    /// Throw an error.
    case `throw`
    /// Never return.
    case hang
    /// Kill its own process with SIGKILL.
    case crash
    /// Take `delay` and then succeed.
    case slow
    /// Report on its component: a component failure with the chosen code and message (the
    /// writer's failure becomes partial-failure); at PrepareForBackup also backup metadata and a
    /// failure message.
    case component
}

/// What the flaky writer does wrong, and when.
struct Misbehaviour: Sendable {
    /// The event at which it misbehaves.
    var event: WriterEvent?
    /// How.
    var mode: MisbehaviourMode = .veto
    /// The veto's code.
    var code: FailureCode = .retryable
    /// The veto's message.
    var message = "flaky-writer vetoed on purpose"
    /// How many times to misbehave before succeeding (0: always).
    var times = 0
    /// How long `slow` takes.
    var delay: Duration = .seconds(1)
}

/// The error the flaky writer throws.
struct FlakyError: Error, CustomStringConvertible {
    var description: String
}

/// A writer that vetoes, hangs or crashes at a chosen event, for demos and tests. It logs every
/// event it receives to standard error as `EVENT <name> <session> <monotonic time>`, and for
/// restore events `RESTORE <name> target=<target> succeeded=<flag> <alternate locations>`.
final class FlakyWriter: Writer, @unchecked Sendable {
    let dataDirectory: String
    /// Another directory of the writer's data, maybe on another volume.
    let otherDirectory: String?
    let misbehaviour: Misbehaviour
    private let counter = Counter()
    private let logger: Logger

    init(
        name: String, level: ApplicationLevel, freezeTimeout: Duration, dataDirectory: String, otherDirectory: String?,
        misbehaviour: Misbehaviour, logger: Logger
    ) throws {
        self.logger = logger
        self.dataDirectory = dataDirectory
        self.otherDirectory = otherDirectory
        self.misbehaviour = misbehaviour
        try super.init(
            name: name, classId: "a3c1f7e2-5d4b-4e8a-9f60-2b1d7c9e4f10", applicationLevel: level,
            freezeTimeout: freezeTimeout
        )
    }

    override func onIdentify(_ metadata: inout WriterMetadata) async throws {
        let files = [dataDirectory] + (otherDirectory.map { [$0] } ?? [])
        metadata.components = [Component(name: "data", caption: "Files of \(name)", files: files.map { FileSpec(path: $0, recursive: true) })]
    }

    private func act(_ event: WriterEvent, _ session: WriterSession) async throws -> Bool {
        // A monotonic timestamp (comparable across processes) lets tests check the order of events.
        logger.notice("EVENT \(event.methodName) \(session.id) \(Self.monotonicTime())")
        if event == .preRestore || event == .postRestore {
            let locations = session.alternateLocations.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            logger.notice("RESTORE \(event.methodName) target=\(session.restoreTarget.rawValue) succeeded=\(session.backupSucceeded.map { "\($0)" } ?? "-") \(locations)")
        }
        if event == .prepareForSnapshot, otherDirectory != nil {
            // The page's C: and D: example: all of the writer's files must be in the set.
            guard try vetoUnlessFilesAreInSnapshotSet([dataDirectory, otherDirectory!], session) else { return true }
        }
        guard event == misbehaviour.event else { return true }
        let count = await counter.next()
        if misbehaviour.times > 0, count > misbehaviour.times { return true }
        switch misbehaviour.mode {
        case .veto:
            try setWriterFailure(misbehaviour.code, message: misbehaviour.message)
            return true
        case .false:
            return false
        case .throw:
            throw FlakyError(description: misbehaviour.message)
        case .hang:
            while true { try? await Task.sleep(for: .seconds(3600)) }
        case .crash:
            logger.notice("CRASH at \(event.methodName)")
            kill(getpid(), SIGKILL)
            return false
        case .slow:
            try await Task.sleep(for: misbehaviour.delay)
            return true
        case .component:
            if event == .prepareForBackup {
                try setBackupMetadata("set by flaky-writer", component: "data")
                try setPrepareForBackupFailureMessage(misbehaviour.message, component: "data")
            }
            try setComponentFailure(component: "data", code: misbehaviour.code, applicationError: 42, message: misbehaviour.message)
            return true
        }
    }

    /// CLOCK_MONOTONIC as `seconds.nanoseconds`, the same clock in every process.
    private static func monotonicTime() -> String {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let nanoseconds = String(now.tv_nsec)
        return "\(now.tv_sec).\(String(repeating: "0", count: 9 - nanoseconds.count))\(nanoseconds)"
    }

    override func onPrepareBackup(_ session: WriterSession) async throws -> Bool { try await act(.prepareForBackup, session) }
    override func onPrepareSnapshot(_ session: WriterSession) async throws -> Bool { try await act(.prepareForSnapshot, session) }
    override func onFreeze(_ session: WriterSession) async throws -> Bool { try await act(.freeze, session) }
    override func onThaw(_ session: WriterSession) async throws -> Bool { try await act(.thaw, session) }
    override func onPostSnapshot(_ session: WriterSession) async throws -> Bool { try await act(.postSnapshot, session) }
    override func onAbort(_ session: WriterSession) async throws -> Bool {
        let result = try await act(.abort, session)
        logger.notice("ABORTED \(session.id)")
        return result
    }
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

