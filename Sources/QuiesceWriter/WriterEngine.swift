import Logging
import Quiesce
import QuiesceBus
import QuiesceProtocol
import QuiesceServiceBus
import Synchronization

/// Connects an ``EventProcessor`` to the bus: one event at a time, the writer's properties,
/// and the safety net that thaws the writer when nobody else will (the freeze lease runs out,
/// or the coordinator, the only one who may send Freeze, leaves the bus).
actor WriterEngine: Writer1Methods {
    let writer: Writer
    private let processor: EventProcessor
    private let connection: ServingConnection
    private let logger: Logger
    private let queue = AsyncSemaphore(permits: 1)
    private var leases: [String: Task<Void, Never>] = [:]
    /// Who sent each Freeze that has not been thawed or aborted yet, by session.
    private var freezeSenders: [String: String] = [:]
    /// The coordinator connection that runs each session the writer is in.
    private var sessionSenders: [String: String] = [:]
    /// The coordinator's connection as last seen; read without a hop to the engine on every event.
    private let coordinator = Mutex<String?>(nil)
    private nonisolated var coordinatorOwner: String? { coordinator.withLock { $0 } }
    private var coordinatorWatch: Task<Void, Never>?
    /// Property changes: set at once, announced with one PropertiesChanged once they settle.
    private let properties: PropertyAnnouncer

    init(writer: Writer, connection: ServingConnection, logger: Logger, properties: PropertyAnnouncer) {
        self.writer = writer
        self.processor = EventProcessor(writer: writer)
        self.connection = connection
        self.logger = logger
        self.properties = properties
    }

    deinit {
        // The watch would otherwise outlive a stopped service.
        coordinatorWatch?.cancel()
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

    func attach(_ object: ServedObject) {
        properties.attach(object)
    }

    /// Starts following who owns `org.quiesce.Coordinator`: only that connection may send events,
    /// and when it leaves the bus, every session it froze is aborted.
    func followCoordinator() async throws {
        let changes = try await connection.nameOwnerChanges(of: .name(BusNames.coordinator))
        let owner = try await connection.nameOwner(BusNames.coordinator)
        coordinator.withLock { $0 = owner }
        coordinatorWatch = Task { [weak self] in
            for await change in changes where change.name == BusNames.coordinator {
                await self?.coordinatorChanged(from: change.oldOwner, to: change.newOwner)
            }
        }
    }

    private func coordinatorChanged(from old: String?, to new: String?) async {
        coordinator.withLock { $0 = new }
        guard let old else { return }
        for (session, sender) in freezeSenders where sender == old {
            await selfAbort(session: session, failure: nil, reason: "\(old), which sent Freeze, left the bus")
        }
        for (session, sender) in sessionSenders where sender == old {
            await abandon(session: session, reason: "the coordinator \(old), which ran this session, left the bus")
        }
    }

    /// Ends a session whose coordinator is gone, so that it neither holds the application
    /// (a restore reopens what it closed) nor counts against the writer's session limit.
    private func abandon(session id: String, reason: String) async {
        sessionSenders[id] = nil
        let processor = self.processor
        let outcomes = await queue.withPermit { await processor.abandon(session: id, reason: reason) }
        endFreezeGuard(session: id)
        guard !outcomes.isEmpty else { return }
        logger.warning("ended the session on its own: \(reason)", metadata: ["session": "\(id)"])
        let sessions = await processor.sessionCount
        for (event, outcome) in outcomes { recorded(event, session: id, outcome, sessions: sessions) }
    }

    /// Whether `sender` is the coordinator's current connection (asking the bus when the
    /// cached owner does not match, in case the change has not reached us yet).
    private nonisolated func isCoordinator(_ sender: String) async -> Bool {
        if sender == coordinatorOwner { return true }
        let owner = try? await connection.nameOwner(BusNames.coordinator)
        coordinator.withLock { $0 = owner }
        return sender == owner
    }

    /// Identify: the writer metadata document (open to anyone: it is what admins read).
    nonisolated func identify(call: BusMethodCall) async throws -> WriterMetadata {
        var metadata = writer.baseMetadata
        do {
            try await writer.onIdentify(&metadata)
        } catch {
            throw QuiesceError(.failed, "the writer failed Identify: \(error)", cause: error)
        }
        return metadata
    }

    /// Answers one event: only from the coordinator's current connection, with options that
    /// pass their checks, in order within its session.
    nonisolated func event(
        _ method: Writer1.EventMethod, session: String, options: Writer1.EventOptions, call: BusMethodCall
    ) async throws -> Writer1.EventResult {
        let event = WriterEvent(method)
        guard await isCoordinator(call.sender) else {
            throw QuiesceError(.accessDenied, "writer events are accepted only from the owner of \(BusNames.coordinator)")
        }
        guard Identifiers.isValid(session) else {
            throw QuiesceError(.invalidArgument, "session id must be 1 to 64 letters, digits, '-' or '_'")
        }
        try options.validate(for: event)
        let request = EventRequest(event: event, sessionId: session, caller: call.sender, options: options)
        if event == .freeze {
            await guardFreeze(session: request.sessionId, lease: request.options.lease ?? writer.freezeTimeout, sender: request.caller)
        }
        let processor = self.processor
        let result = await queue.withPermit { () async -> Result<(EventReply, Int), EventOrderError> in
            do throws(EventOrderError) { return .success(try await processor.processCounting(request)) } catch { return .failure(error) }
        }
        switch result {
        case .success(let (reply, sessions)):
            var outcome = reply
            outcome.properties = await answered(event, request, outcome, sessions: sessions)
            return outcome.wire
        case .failure(let error):
            if event == .freeze { await endFreezeGuard(session: request.sessionId) }
            throw QuiesceError(.badState, error.message)
        }
    }

    /// Notes the outcome of an event the coordinator sent and who runs its session (one hop to
    /// the engine per event). Returns the properties it set, for the reply.
    private func answered(_ event: WriterEvent, _ request: EventRequest, _ outcome: EventReply, sessions: Int) -> [String: BusValue] {
        let values = recorded(event, session: request.sessionId, outcome, sessions: sessions)
        follow(session: request.sessionId, of: request.caller, after: event)
        return values
    }

    /// Notes an event's outcome: the freeze guard, the log, the properties (`sessions`: how many
    /// sessions the writer is in now). Returns the properties it set.
    @discardableResult
    private func recorded(_ event: WriterEvent, session: String, _ outcome: EventReply, sessions: Int) -> [String: BusValue] {
        if event == .thaw || event == .abort || event == .backupShutdown {
            endFreezeGuard(session: session)
        }
        if event == .freeze, let sender = freezeSenders[session], sender != coordinatorOwner {
            // The coordinator left while Freeze ran: nobody will thaw this session.
            Task { await selfAbort(session: session, failure: nil, reason: "\(sender), which sent Freeze, left the bus") }
        }
        if let failure = outcome.result.failure {
            logger.warning("\(event.methodName) failed", metadata: ["session": "\(session)", "failure": "\(failure.rawValue)", "message": "\(outcome.result.message)"])
        } else {
            logger.debug("\(event.methodName) done", metadata: ["session": "\(session)", "state": "\(outcome.result.state.rawValue)"])
        }
        var values: [String: BusValue] = ["Sessions": .uint32(UInt32(sessions))]
        // A BackupShutdown that succeeded after a failed session leaves the session's failure on
        // State, LastError and LastMessage until the next event.
        if event != .backupShutdown || outcome.result.failure != nil || !outcome.result.state.isFailed {
            values["State"] = .string(outcome.result.state.rawValue)
            values["LastError"] = .string(outcome.result.failure?.rawValue ?? FailureCode.noErrorText)
            values["LastMessage"] = .string(outcome.result.message)
        }
        properties.update(values)
        return values
    }

    /// Notes which coordinator connection runs the session; if it left while the event ran,
    /// nobody will finish the session, so the writer ends it now.
    private func follow(session id: String, of sender: String, after event: WriterEvent) {
        guard event != .backupShutdown else {
            sessionSenders[id] = nil
            return
        }
        sessionSenders[id] = sender
        if sender != coordinatorOwner {
            Task { await abandon(session: id, reason: "the coordinator \(sender), which ran this session, left the bus") }
        }
    }

    // MARK: - The safety net

    /// Starts the lease of a Freeze and notes its sender (the coordinator): if the lease runs
    /// out, or the sender leaves the bus, before Thaw or Abort, the writer aborts on its own.
    private func guardFreeze(session id: String, lease: Duration, sender: String) {
        leases[id]?.cancel()
        leases[id] = Task { [weak self] in
            guard (try? await Task.sleep(for: lease)) != nil else { return }
            await self?.selfAbort(session: id, failure: .timeout, reason: "the freeze lease of \(lease) ran out before Thaw")
        }
        freezeSenders[id] = sender
    }

    private func endFreezeGuard(session: String) {
        leases.removeValue(forKey: session)?.cancel()
        freezeSenders[session] = nil
    }

    private func selfAbort(session id: String, failure: FailureCode?, reason: String) async {
        let processor = self.processor
        let outcome = await queue.withPermit { await processor.abortIfFrozen(session: id, failure: failure, reason: reason) }
        endFreezeGuard(session: id)
        guard let outcome else { return }
        logger.warning("aborted on its own: \(reason)", metadata: ["session": "\(id)"])
        recorded(.abort, session: id, outcome, sessions: await processor.sessionCount)
    }

    /// Aborts every session that may hold writes (the writer is shutting down).
    func abortAll(reason: String) async {
        for id in await processor.frozenSessions {
            await selfAbort(session: id, failure: nil, reason: reason)
        }
    }
}
