import Quiesce
import QuiesceProtocol

/// Runs a ``Writer``'s handlers and keeps each session's state, with no bus: the writer
/// service feeds it events from D-Bus, and QuiesceTesting feeds it events in-process.
package actor EventProcessor {
    private struct SessionRecord {
        var info: WriterSession
        var state: WriterState = .stable
        /// The last event handled for the session.
        var lastEvent: WriterEvent?
        /// Set when the writer aborted on its own (lease, coordinator gone): a late Thaw gets it.
        var selfAbort: EventReply?
        /// Set when Freeze arrives, cleared by Thaw or Abort: the writer may hold writes.
        var mayBeFrozen = false
        var backupMetadataSet: Set<String> = []
        var restoreMetadataSet: Set<String> = []
    }

    /// The writer whose handlers run.
    package let writer: Writer
    /// Whether events that do not follow the session's previous event are refused.
    package let checksOrder: Bool
    /// The most sessions the writer takes part in at once; more get `status-not-available`.
    package let maxSessions: Int
    private var sessions: [String: SessionRecord] = [:]

    /// Creates a processor for `writer`.
    package init(writer: Writer, maxSessions: Int = 8, checksOrder: Bool = true) {
        self.writer = writer
        self.maxSessions = maxSessions
        self.checksOrder = checksOrder
    }

    /// The event each event must follow in its session (`nil`: it starts a session).
    private static let predecessor: [WriterEvent: WriterEvent?] = [
        .prepareForBackup: nil, .prepareForSnapshot: .prepareForBackup, .freeze: .prepareForSnapshot, .thaw: .freeze,
        .postSnapshot: .thaw, .backupComplete: .postSnapshot, .preRestore: nil, .postRestore: .preRestore,
    ]

    private func orderProblem(_ request: EventRequest) -> String? {
        guard checksOrder, let expected = Self.predecessor[request.event] else { return nil }  // Abort, BackupShutdown: any time
        let previous = sessions[request.sessionId]?.lastEvent
        if let expected {
            if previous == expected { return nil }
            return "\(request.event.methodName) must follow \(expected.methodName) in session \(request.sessionId); the last event was \(previous?.methodName ?? "none")"
        }
        return sessions[request.sessionId] == nil ? nil : "\(request.event.methodName) starts a session, and session \(request.sessionId) has started"
    }

    /// The number of sessions the writer is in.
    package var sessionCount: Int { sessions.count }

    /// The sessions that may hold writes (Freeze came, Thaw or Abort did not).
    package var frozenSessions: [String] { sessions.filter(\.value.mayBeFrozen).map(\.key).sorted() }

    /// Handles one event to completion. Throws ``EventOrderError`` (and changes nothing) when the
    /// event does not follow the session's previous event.
    package func process(_ request: EventRequest) async throws(EventOrderError) -> EventReply {
        if request.event == .thaw, let reply = sessions[request.sessionId]?.selfAbort {
            return reply  // the writer already aborted on its own: Thaw learns why
        }
        if let problem = orderProblem(request) { throw EventOrderError(message: problem) }
        if sessions[request.sessionId] == nil, sessions.count >= maxSessions {
            return EventReply(
                result: EventResult(state: .stable, failure: .statusNotAvailable, message: "the writer is in \(sessions.count) sessions, its limit"),
                components: []
            )
        }
        var record = sessions[request.sessionId] ?? SessionRecord(info: WriterSession(id: request.sessionId))
        let options = request.options
        if let type = options.backupType { record.info.backupType = type }
        if let components = options.components { record.info.selectedComponents = components }
        if let id = options.snapshotSetId { record.info.snapshotSetId = id }
        if let volumes = options.volumes { record.info.volumes = volumes }
        if let groups = options.snapshotGroups { record.info.snapshotGroups = groups }
        if let metadata = options.backupMetadata { record.info.backupMetadata = metadata }
        if let metadata = options.restoreMetadata { record.info.restoreMetadata = metadata }
        if let target = options.restoreTarget { record.info.restoreTarget = target }
        if let locations = options.alternateLocations { record.info.alternateLocations = locations }
        record.info.backupSucceeded = options.succeeded
        if request.event == .freeze { record.mayBeFrozen = true }
        sessions[request.sessionId] = record

        let report = EventReport(
            event: request.event, selectedComponents: record.info.selectedComponents,
            backupMetadataSet: record.backupMetadataSet, restoreMetadataSet: record.restoreMetadataSet
        )
        let outcome = await run(request.event, record.info, from: record.state, report: report)
        finish(request.event, session: request.sessionId, outcome: outcome, report: report)
        return outcome
    }

    /// ``process(_:)``, and the number of sessions the writer is in after it (one hop for both).
    package func processCounting(_ request: EventRequest) async throws(EventOrderError) -> (EventReply, Int) {
        let reply = try await process(request)
        return (reply, sessions.count)
    }

    /// The message of a PostRestore whose files did not go back.
    package static let restoreNotDoneMessage = "the restore did not put the files back (PostRestore with succeeded=false); the writer reopened its data as it was"

    /// Ends a session that nobody will finish (the coordinator that ran it left the bus): Abort
    /// if it is between PrepareForSnapshot and BackupComplete, then BackupShutdown; for a
    /// restore between PreRestore and PostRestore, PostRestore with `succeeded=false` first, so
    /// the writer reopens what it closed. Returns each event run and its reply, with `reason` as
    /// the message.
    package func abandon(session id: String, reason: String) async -> [(WriterEvent, EventReply)] {
        guard let record = sessions[id] else { return [] }
        var steps: [WriterEvent] = []
        if record.lastEvent == .preRestore {
            steps = [.postRestore]
        } else if record.selfAbort == nil, record.mayBeFrozen || [.prepareForSnapshot, .freeze, .thaw, .postSnapshot].contains(record.lastEvent) {
            steps = [.abort]
        }
        steps.append(.backupShutdown)
        var outcomes: [(WriterEvent, EventReply)] = []
        for event in steps {
            guard let current = sessions[id] else { break }
            var info = current.info
            if event == .postRestore { info.backupSucceeded = false }
            let report = EventReport(
                event: event, selectedComponents: info.selectedComponents,
                backupMetadataSet: current.backupMetadataSet, restoreMetadataSet: current.restoreMetadataSet
            )
            var outcome = await run(event, info, from: current.state, report: report)
            if outcome.result.failure == nil || outcome.result.message == Self.restoreNotDoneMessage {
                outcome.result.message = reason
            }
            finish(event, session: id, outcome: outcome, report: report)
            outcomes.append((event, outcome))
        }
        sessions[id] = nil
        return outcomes
    }

    /// Runs Abort for a session that may hold writes, because nobody else will release it.
    /// `failure` is recorded as the session's failure (e.g. `timeout` for a lease that ran
    /// out). Returns `nil` when the session was not frozen.
    package func abortIfFrozen(session id: String, failure: FailureCode?, reason: String) async -> EventReply? {
        guard let record = sessions[id], record.mayBeFrozen else { return nil }
        let report = EventReport(event: .abort, selectedComponents: record.info.selectedComponents, backupMetadataSet: [], restoreMetadataSet: [])
        var outcome = await run(.abort, record.info, from: record.state, report: report)
        if outcome.result.failure == nil {
            outcome.result.message = reason
            if let failure {
                outcome.result.state = .failedAtFreeze
                outcome.result.failure = failure
            }
        }
        finish(.abort, session: id, outcome: outcome, report: report)
        sessions[id]?.selfAbort = outcome
        return outcome
    }

    private func run(_ event: WriterEvent, _ session: WriterSession, from state: WriterState, report: EventReport) async -> EventReply {
        let clock = ContinuousClock()
        let start = clock.now
        var failure: EventReport.Failure?
        do {
            let succeeded = try await EventReport.$current.withValue(report) {
                try await writer.handle(event, session)
            }
            failure = report.failure ?? (succeeded ? nil : .init(code: .nonRetryable, message: "\(event.methodName) handler returned false"))
        } catch {
            failure = report.failure ?? .init(code: .nonRetryable, message: "\(event.methodName) handler threw: \(error)")
        }
        let components = report.components(eventFailed: failure != nil)
        if failure == nil, let failed = components.first(where: { $0.failure != nil }) {
            failure = .init(code: .partialFailure, message: "component \(failed.fullPath) failed: \(failed.failure!.message)")
        }
        if failure == nil, event == .postRestore, session.backupSucceeded == false {
            // The handler reopened what PreRestore closed; State and LastError still say that
            // the restore did not happen, and that running it again may work.
            failure = .init(code: .retryable, message: Self.restoreNotDoneMessage)
        }
        let elapsed = clock.now - start
        let result = EventResult(
            state: event.nextState(from: state, succeeded: failure == nil),
            failure: failure?.code,
            message: failure?.message ?? "",
            durationMicroseconds: elapsed.wholeMicroseconds
        )
        // Changes made in a failed event are dropped; a partial failure keeps them.
        return EventReply(result: result, components: report.components(eventFailed: failure != nil && failure?.code != .partialFailure))
    }

    private func finish(_ event: WriterEvent, session id: String, outcome: EventReply, report: EventReport) {
        guard var record = sessions[id] else { return }
        record.state = outcome.result.state
        record.lastEvent = event
        if outcome.result.failure == nil || outcome.result.failure == .partialFailure {
            (record.backupMetadataSet, record.restoreMetadataSet) = report.metadataSet
        }
        if event == .thaw || event == .abort { record.mayBeFrozen = false }
        sessions[id] = record
        if event == .backupShutdown {
            sessions[id] = nil
        }
    }
}

/// An event that does not follow its session's previous event (Thaw without Freeze, …).
package struct EventOrderError: Error, Sendable {
    /// What is out of order.
    package var message: String
}
