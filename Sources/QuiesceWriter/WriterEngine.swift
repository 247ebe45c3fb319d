import Foundation
import Logging
import Quiesce
import QuiesceBus

/// Runs a ``Writer``'s handlers for the events that arrive on the bus: one event at a time,
/// keeping each session's state, the writer's properties and the freeze leases.
actor WriterEngine {
    private struct SessionRecord {
        var info: WriterSession
        var state: WriterState = .stable
        /// Set when Freeze arrives, cleared by Thaw or Abort: the writer may hold writes.
        var mayBeFrozen = false
        /// Who sent Freeze; if that connection leaves the bus, the writer aborts.
        var freezeCaller: String?
        var leaseTask: Task<Void, Never>?
        var callerWatch: Task<Void, Never>?
    }

    let writer: Writer
    private let connection: BusConnection
    private let logger: Logger
    private let queue = SerialQueue()
    private var sessions: [String: SessionRecord] = [:]
    private var object: ExportedObject?

    init(writer: Writer, connection: BusConnection, logger: Logger) {
        self.writer = writer
        self.connection = connection
        self.logger = logger
    }

    /// The properties the writer object starts with.
    nonisolated var initialProperties: [String: BusValue] {
        [
            "Name": .string(writer.name),
            "ClassId": .string(writer.classId),
            "InstanceId": .string(writer.instanceId),
            "ApplicationLevel": .string(writer.applicationLevel.rawValue),
            "State": .string(WriterState.stable.rawValue),
            "LastError": .string(FailureCode.noErrorText),
            "LastMessage": .string(""),
            "Sessions": .uint32(0),
        ]
    }

    func attach(_ object: ExportedObject) {
        self.object = object
    }

    /// Answers one method call of `org.quiesce.Writer1`.
    nonisolated func dispatch(_ call: BusMethodCall) async throws -> [BusValue] {
        guard let event = WriterEvent(rawValue: call.method) else {
            throw BusError(name: "org.freedesktop.DBus.Error.UnknownMethod", message: "no method \(call.method)")
        }
        if event == .identify {
            return [.string(try await identify())]
        }
        let request = try EventRequest(event: event, call: call)
        let result = await queue.run { await self.handle(request) }
        return [
            .vardict([
                EventResult.Key.state: .string(result.state.rawValue),
                EventResult.Key.failure: .string(result.failure?.rawValue ?? ""),
                EventResult.Key.message: .string(result.message),
                EventResult.Key.durationMicroseconds: .uint64(result.durationMicroseconds),
            ])
        ]
    }

    /// Builds the writer metadata document.
    nonisolated func identify() async throws -> String {
        var metadata = writer.baseMetadata
        do {
            try await writer.onIdentify(&metadata)
        } catch {
            throw BusError(name: BusError.failed, message: "the writer failed Identify: \(error)")
        }
        return try JSONCoding.encode(metadata)
    }

    /// Handles one event. Runs on the serial queue.
    private func handle(_ request: EventRequest) async -> EventResult {
        var record = sessions[request.sessionId] ?? SessionRecord(info: WriterSession(id: request.sessionId))
        if let type = request.backupType { record.info.backupType = type }
        if let components = request.components { record.info.selectedComponents = components }
        if let id = request.snapshotSetId { record.info.snapshotSetId = id }
        if let volumes = request.volumes { record.info.volumes = volumes }
        record.info.backupSucceeded = request.succeeded
        if request.event == .freeze {
            record.mayBeFrozen = true
            record.freezeCaller = request.caller
        }
        sessions[request.sessionId] = record
        if request.event == .freeze {
            startLease(session: request.sessionId, lease: request.lease ?? writer.freezeTimeout)
            watchFreezeCaller(session: request.sessionId, caller: request.caller)
        }

        let result = await runHandler(request.event, record.info, from: record.state)
        finish(request.event, session: request.sessionId, result: result)
        return result
    }

    /// Calls the handler and turns its outcome into a result; never throws.
    private func runHandler(_ event: WriterEvent, _ session: WriterSession, from state: WriterState) async -> EventResult {
        let report = EventReport()
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
        let elapsed = clock.now - start
        let microseconds = UInt64(elapsed.components.seconds) * 1_000_000 + UInt64(elapsed.components.attoseconds / 1_000_000_000_000)
        let next = event.nextState(from: state, succeeded: failure == nil)
        if let failure {
            logger.warning("\(event.methodName) failed", metadata: ["session": "\(session.id)", "failure": "\(failure.code.rawValue)", "message": "\(failure.message)"])
        } else {
            logger.debug("\(event.methodName) done", metadata: ["session": "\(session.id)", "state": "\(next.rawValue)"])
        }
        return EventResult(state: next, failure: failure?.code, message: failure?.message ?? "", durationMicroseconds: microseconds)
    }

    /// Records the result of an event in the session and the writer's properties.
    private func finish(_ event: WriterEvent, session id: String, result: EventResult) {
        if var record = sessions[id] {
            record.state = result.state
            if event == .thaw || event == .abort {
                record.mayBeFrozen = false
                record.leaseTask?.cancel()
                record.callerWatch?.cancel()
            }
            sessions[id] = record
        }
        if event == .backupShutdown || event == .postRestore {
            endSession(id)
        }
        object?.setProperties([
            "State": .string(result.state.rawValue),
            "LastError": .string(result.failure?.rawValue ?? FailureCode.noErrorText),
            "LastMessage": .string(result.message),
            "Sessions": .uint32(UInt32(sessions.count)),
        ])
    }

    private func endSession(_ id: String) {
        guard let record = sessions.removeValue(forKey: id) else { return }
        record.leaseTask?.cancel()
        record.callerWatch?.cancel()
    }

    // MARK: - Leases

    private func startLease(session id: String, lease: Duration) {
        sessions[id]?.leaseTask?.cancel()
        sessions[id]?.leaseTask = Task { [weak self] in
            guard (try? await Task.sleep(for: lease)) != nil else { return }
            await self?.selfAbort(session: id, failure: .timeout, reason: "the freeze lease of \(lease) ran out before Thaw")
        }
    }

    private func watchFreezeCaller(session id: String, caller: String) {
        sessions[id]?.callerWatch?.cancel()
        let connection = self.connection
        sessions[id]?.callerWatch = Task { [weak self] in
            guard let changes = try? await connection.nameOwnerChanges(prefix: caller) else { return }
            // The caller may have left between Freeze and the subscription.
            if (try? await connection.nameOwner(caller)) == nil {
                await self?.selfAbort(session: id, failure: nil, reason: "the coordinator \(caller) left the bus")
                return
            }
            for await change in changes where change.name == caller && change.newOwner == nil {
                await self?.selfAbort(session: id, failure: nil, reason: "the coordinator \(caller) left the bus")
                return
            }
        }
    }

    /// Runs Abort for a session that may be frozen, because nobody will thaw it.
    private func selfAbort(session id: String, failure: FailureCode?, reason: String) async {
        await queue.run { await self.abortIfFrozen(session: id, failure: failure, reason: reason) }
    }

    private func abortIfFrozen(session id: String, failure: FailureCode?, reason: String) async {
        guard let record = sessions[id], record.mayBeFrozen else { return }
        logger.warning("aborting: \(reason)", metadata: ["session": "\(id)"])
        var result = await runHandler(.abort, record.info, from: record.state)
        if result.failure == nil, let failure {
            result = EventResult(state: .failedAtFreeze, failure: failure, message: reason, durationMicroseconds: result.durationMicroseconds)
        } else if result.failure == nil {
            result.message = reason
        }
        finish(.abort, session: id, result: result)
    }

    /// Aborts every session that may be frozen (the writer is shutting down).
    func abortAll(reason: String) async {
        for id in sessions.keys.sorted() {
            await selfAbort(session: id, failure: nil, reason: reason)
        }
    }
}
