import Logging
import QuiesceWriter
import Synchronization

/// A writer whose handlers run a hook set's executables: `freeze` in name order, `thaw` in
/// reverse, for exactly the hooks that froze; the other events by their kebab-case names when
/// the hook set asks for them. A hook's failure vetoes the event with the code its exit status
/// maps to and its last line as the message.
final class HookWriter: Writer, @unchecked Sendable {
    let set: HookSet
    private let runner: HookRunner
    private let logger: Logger
    /// By session, the hooks whose `freeze` succeeded: they, and only they, get `thaw`.
    private let frozen = Mutex<[String: [String]]>([:])

    init(set: HookSet, logger: Logger) throws {
        self.set = set
        self.logger = logger
        self.runner = HookRunner(directory: set.hooks, timeout: set.hookTimeout, logger: logger)
        try super.init(
            name: set.name, classId: set.classId ?? HookSet.defaultClassId, applicationLevel: set.applicationLevel ?? .backEnd,
            freezeTimeout: .milliseconds(set.freezeTimeoutMs ?? WriterMetadata.defaultFreezeTimeoutMilliseconds)
        )
        _ = try runner.hooks()  // refuse to start with hooks that may not run
    }

    override func onIdentify(_ metadata: inout WriterMetadata) async throws {
        metadata.components = set.components
    }

    /// Runs `hooks` with `argument` one after another; stops at the first failure unless
    /// `all` (thaw releases everything it can), and vetoes with the first failure.
    private func run(_ hooks: [String], _ argument: String, _ session: WriterSession, all: Bool = false) async throws -> [String] {
        var succeeded: [String] = []
        var firstFailure: HookRunner.Outcome?
        for hook in hooks {
            let outcome = await runner.run(hook, argument, session: session.id)
            if outcome.failure == nil {
                succeeded.append(hook)
                continue
            }
            logger.warning("hook \(outcome.hook) \(argument) failed: \(outcome.message)")
            if firstFailure == nil { firstFailure = outcome }
            if !all { break }
        }
        if let failure = firstFailure, let code = failure.failure {
            try setWriterFailure(code, message: failure.message)
        }
        return succeeded
    }

    /// The hooks of the set now, or a veto saying why they cannot run.
    private func currentHooks() throws -> [String] {
        do { return try runner.hooks() } catch {
            try setWriterFailure(.nonRetryable, message: "\(error)")
            return []
        }
    }

    /// Runs the event's hooks if the hook set asks for that event.
    private func runIfAsked(_ event: WriterEvent, _ session: WriterSession) async throws -> Bool {
        let argument = event.kebabCaseName
        guard set.runEvents.contains(argument) else { return true }
        _ = try await run(try currentHooks(), argument, session)
        return true
    }

    /// Thaws the hooks that froze in `session`, in reverse order.
    private func thaw(_ session: WriterSession) async throws {
        let hooks = frozen.withLock { $0.removeValue(forKey: session.id) } ?? []
        guard !hooks.isEmpty else { return }
        _ = try await run(hooks.reversed(), "thaw", session, all: true)
    }

    override func onFreeze(_ session: WriterSession) async throws -> Bool {
        guard set.runEvents.contains("freeze") else { return true }
        let hooks = try currentHooks()
        let froze = try await run(hooks, "freeze", session)
        frozen.withLock { $0[session.id] = froze }
        return true
    }

    override func onThaw(_ session: WriterSession) async throws -> Bool {
        try await thaw(session)
        return true
    }

    override func onAbort(_ session: WriterSession) async throws -> Bool {
        // Whatever froze is released first (the lease ran out, the coordinator left, a veto).
        try await thaw(session)
        return try await runIfAsked(.abort, session)
    }

    override func onPrepareBackup(_ session: WriterSession) async throws -> Bool { try await runIfAsked(.prepareForBackup, session) }
    override func onPrepareSnapshot(_ session: WriterSession) async throws -> Bool { try await runIfAsked(.prepareForSnapshot, session) }
    override func onPostSnapshot(_ session: WriterSession) async throws -> Bool { try await runIfAsked(.postSnapshot, session) }
    override func onBackupComplete(_ session: WriterSession) async throws -> Bool { try await runIfAsked(.backupComplete, session) }
    override func onBackupShutdown(_ session: WriterSession) async throws -> Bool {
        try await thaw(session)  // never leave a hook frozen
        return try await runIfAsked(.backupShutdown, session)
    }
    override func onPreRestore(_ session: WriterSession) async throws -> Bool { try await runIfAsked(.preRestore, session) }
    override func onPostRestore(_ session: WriterSession) async throws -> Bool { try await runIfAsked(.postRestore, session) }
}
