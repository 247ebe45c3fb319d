import Quiesce
import QuiesceProtocol

/// A writer that answered Identify in a session, and everything the session knows about it.
struct SessionParticipant: Sendable {
    /// The writer's bus connection at Identify: events go there, so a restarted writer never
    /// receives Thaw for a Freeze it did not see.
    var owner: String
    var metadata: WriterMetadata
    var selectedComponents: [String] = []
    /// Whether a veto of this writer fails the step (the requester marked it, or one of its
    /// selected components, required).
    var isRequired = false
    var status: WriterStatus
    /// Events sent so far, whatever their outcome.
    var sentEvents: Set<WriterEvent> = []
    /// Set when PostSnapshot succeeded after a successful Freeze and Thaw.
    var snapshotIsConsistent = false
    /// The event the writer first failed in this session (kept in its status).
    var failedEvent: WriterEvent? {
        get { status.failedEvent }
        set { status.failedEvent = newValue }
    }
    /// The event sent to the writer and not answered yet.
    var inFlight: WriterEvent?

    init(owner: String, metadata: WriterMetadata) {
        self.owner = owner
        self.metadata = metadata
        self.status = WriterStatus(name: metadata.name, classId: metadata.classId, instanceId: metadata.instanceId)
    }

    /// A writer that failed Identify: kept so that its status shows why it is not in the session.
    init(name: String, owner: String, identifyFailure failure: FailureCode, message: String) {
        self.init(owner: owner, metadata: WriterMetadata(name: name, classId: "", instanceId: ""))
        status.state = .failedAtIdentify
        status.failure = failure
        status.message = InputLimits.truncated(message)
        status.lastEvent = .identify
        failedEvent = .identify
    }

    var name: String { metadata.name }

    /// Whether the writer answered Identify (a writer that did not takes no part).
    var isIdentified: Bool { failedEvent != .identify }

    /// Whether the writer takes part (has selected components).
    var isSelected: Bool { !selectedComponents.isEmpty }

    /// Whether the writer still receives the sequence's events: selected, and not failed (a
    /// partial failure leaves its other components in the backup).
    var isActive: Bool { isSelected && (status.failure == nil || status.failure == .partialFailure) }

    /// Whether a component's data in the snapshot is application-consistent.
    func isConsistent(_ component: String) -> Bool {
        snapshotIsConsistent && status.component(component)?.failure == nil
    }

    /// Records that the writer left the bus, unless it already failed. An event in flight is
    /// the one it failed (its pending call fails at once too, with the same result).
    mutating func markGone() {
        if let event = inFlight {
            record(event, EventReply(result: EventResult(state: event.stateOnFailure, failure: .notResponding, message: "the writer left the bus during \(event.methodName)")))
        } else {
            markNotResponding("the writer left the bus")
        }
    }

    /// Records that the writer is gone or hung, unless it already failed.
    mutating func markNotResponding(_ message: String) {
        guard !status.hasFailed || status.failure == .partialFailure else { return }
        status.state = status.lastEvent?.stateOnFailure ?? .unknown
        status.failure = .notResponding
        status.message = message
        failedEvent = status.lastEvent
    }

    mutating func record(_ event: WriterEvent, _ reply: EventReply) {
        let reply = bounded(reply, of: event)
        sentEvents.insert(event)
        if inFlight == event { inFlight = nil }
        // A failure sticks for the rest of the session: later events (Abort, BackupShutdown, or
        // the events a writer with a partial failure still gets) do not hide the state it left.
        if !status.hasFailed { status.state = reply.result.state }
        status.lastEvent = event
        status.eventMilliseconds[event.methodName] = Double(reply.result.durationMicroseconds) / 1000
        status.merge(reply.components)
        if let failure = reply.result.failure, status.failure == nil || status.failure == .partialFailure {
            status.failure = failure
            status.message = reply.result.message
            failedEvent = event
        }
    }

    /// The reply as the session keeps it: reports only for selected components, messages cut
    /// to ``InputLimits/messageBytes``; a reply over a limit becomes the writer's failure.
    private func bounded(_ reply: EventReply, of event: WriterEvent) -> EventReply {
        func refused(_ problem: String) -> EventReply {
            EventReply(result: EventResult(
                state: event.stateOnFailure, failure: .nonRetryable,
                message: "\(problem) (\(QuiesceError.Code.tooLarge.rawValue))", durationMicroseconds: reply.result.durationMicroseconds
            ))
        }
        guard reply.components.count <= InputLimits.componentsPerWriter else {
            return refused("the reply to \(event.methodName) holds \(reply.components.count) component reports; at most \(InputLimits.componentsPerWriter)")
        }
        let selected = Set(selectedComponents)
        var kept = reply
        kept.result.message = InputLimits.truncated(reply.result.message)
        kept.components = reply.components.filter { selected.contains($0.fullPath) }
        var total = status.components.reduce(0) { $0 + ($1.backupMetadata?.utf8.count ?? 0) + ($1.restoreMetadata?.utf8.count ?? 0) }
        for index in kept.components.indices {
            let component = kept.components[index]
            for text in [component.backupMetadata, component.restoreMetadata].compactMap({ $0 }) {
                guard text.utf8.count <= InputLimits.componentMetadataBytes else {
                    return refused("the metadata of component \(component.fullPath) is \(text.utf8.count) bytes; at most \(InputLimits.componentMetadataBytes)")
                }
                total += text.utf8.count
            }
            kept.components[index].failureMessages = component.failureMessages.mapValues { InputLimits.truncated($0) }
            kept.components[index].failure?.message = InputLimits.truncated(component.failure?.message ?? "")
        }
        guard total <= InputLimits.writerMetadataBytes else {
            return refused("the writer's metadata in this session would be \(total) bytes; at most \(InputLimits.writerMetadataBytes)")
        }
        return kept
    }
}
