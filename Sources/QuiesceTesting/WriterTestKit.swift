import Quiesce
import QuiesceProtocol
import QuiesceWriter
import Synchronization

/// Drives a `Writer` through Quiesce's sequences in-process, with no bus, the way the
/// coordinator would: writer authors use it in their own tests to check states, vetoes and
/// messages.
///
/// ```swift
/// let kit = WriterTestKit(writer: NotesWriter(...))
/// let run = try await kit.backup(volumes: ["/srv/notes"])
/// #expect(run.events == [.prepareForBackup, .prepareForSnapshot, .freeze, .thaw, .postSnapshot, .backupComplete, .backupShutdown])
/// #expect(run.finalState == .stable)
/// ```
public struct WriterTestKit: Sendable {
    /// The writer under test.
    public let writer: Writer
    /// How long a handler may take before the kit records it `not-responding`.
    public var timeout: Duration

    private let processor: EventProcessor
    private let queue = AsyncSemaphore(permits: 1)

    /// Creates a kit for `writer`; `maxSessions` is the writer's limit of concurrent sessions.
    public init(writer: Writer, timeout: Duration = .seconds(10), maxSessions: Int = 8) {
        self.writer = writer
        self.timeout = timeout
        // Lenient about order, so that a test may send any event on its own.
        self.processor = EventProcessor(writer: writer, maxSessions: maxSessions, checksOrder: false)
    }

    /// Sends Identify and returns the writer's metadata.
    public func identify() async throws -> WriterMetadata {
        var metadata = writer.baseMetadata
        try await writer.onIdentify(&metadata)
        return metadata
    }

    /// Sends one event, as the coordinator would, and waits at most ``timeout`` for the answer.
    /// Events of the writer run one at a time: an event sent while a handler hangs waits for it.
    public func send(
        _ event: WriterEvent,
        session: String = "test-session",
        components: [String]? = nil,
        volumes: [String]? = nil,
        backupType: BackupType? = nil,
        snapshotSetId: String? = nil,
        succeeded: Bool? = nil
    ) async -> EventRecord {
        let request = EventRequest(
            event: event, sessionId: session,
            options: EventOptions(
                backupType: backupType, components: components, snapshotSetId: snapshotSetId, volumes: volumes, succeeded: succeeded
            )
        )
        let processor = self.processor
        let queue = self.queue
        let timeout = self.timeout
        // The first of the answer and the timeout wins; a hung handler is left running, as a
        // hung writer process would be.
        let outcome: EventReply? = await withCheckedContinuation { continuation in
            let answered = Mutex(false)
            let finish = { @Sendable (outcome: EventReply?) in
                if answered.withLock({ done in defer { done = true }; return !done }) { continuation.resume(returning: outcome) }
            }
            Task { finish(await queue.withPermit { try? await processor.process(request) }) }
            Task {
                try? await Task.sleep(for: timeout)
                finish(nil)
            }
        }
        guard let outcome else {
            return EventRecord(event: event, state: event.stateOnFailure, failure: .notResponding, message: "no reply to \(event.methodName) within \(timeout)", components: [])
        }
        return EventRecord(event: event, state: outcome.result.state, failure: outcome.result.failure, message: outcome.result.message, components: outcome.components)
    }

    /// Runs a whole backup the way the coordinator does for an optional writer: PrepareForBackup,
    /// PrepareForSnapshot, Freeze, then Thaw (or Abort if Freeze or Thaw failed), PostSnapshot,
    /// BackupComplete and BackupShutdown, stopping early where the coordinator would.
    ///
    /// - Parameters:
    ///   - volumes: the snapshot set's volumes.
    ///   - components: the selected components; by default those with files on `volumes`.
    ///   - backupType: the backup type the events carry.
    ///   - session: the session id the events carry.
    ///   - abortAfter: the requester calls AbortBackup right after this event.
    public func backup(
        volumes: [String],
        components: [String]? = nil,
        backupType: BackupType = .full,
        session: String = "test-session",
        abortAfter: WriterEvent? = nil
    ) async throws -> SequenceRun {
        var selected = components ?? []
        if components == nil { selected = try await identify().components(onVolumes: volumes) }
        var run = SequenceRun(session: session, records: [])
        let setId = "test-snapshot-set"
        func send(_ event: WriterEvent, succeeded: Bool? = nil) async -> EventRecord {
            let record = await self.send(
                event, session: session, components: selected, volumes: volumes, backupType: backupType,
                snapshotSetId: event == .prepareForBackup ? nil : setId, succeeded: succeeded
            )
            run.records.append(record)
            return record
        }
        func abortAndShutDown() async -> SequenceRun {
            _ = await send(.abort)
            _ = await send(.backupShutdown)
            return run
        }

        guard !selected.isEmpty else { return run }
        if !(await send(.prepareForBackup)).succeeded || abortAfter == .prepareForBackup {
            _ = await send(.backupShutdown)
            return run
        }
        if !(await send(.prepareForSnapshot)).succeeded { _ = await send(.backupShutdown); return run }
        if abortAfter == .prepareForSnapshot { return await abortAndShutDown() }
        if !(await send(.freeze)).succeeded || abortAfter == .freeze { return await abortAndShutDown() }
        if !(await send(.thaw)).succeeded || abortAfter == .thaw { return await abortAndShutDown() }
        if !(await send(.postSnapshot)).succeeded { _ = await send(.backupShutdown); return run }
        _ = await send(.backupComplete, succeeded: true)
        _ = await send(.backupShutdown)
        return run
    }

    /// Runs a restore: PreRestore, then (unless it failed) PostRestore, telling the writer
    /// whether the files went back (`succeeded`).
    public func restore(components: [String], session: String = "test-restore", succeeded: Bool = true) async -> SequenceRun {
        var run = SequenceRun(session: session, records: [])
        let pre = await send(.preRestore, session: session, components: components)
        run.records.append(pre)
        if pre.succeeded {
            run.records.append(await send(.postRestore, session: session, components: components, succeeded: succeeded))
        }
        return run
    }
}
