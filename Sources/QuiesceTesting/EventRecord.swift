import Quiesce
import QuiesceWriter

/// What the writer answered to one event the test kit sent.
public struct EventRecord: Sendable, Hashable {
    /// The event.
    public var event: WriterEvent
    /// The writer's state for the session afterwards.
    public var state: WriterState
    /// The failure code, `nil` on success (`not-responding` when the handler did not finish in time).
    public var failure: FailureCode?
    /// The writer's (or the kit's) message.
    public var message: String
    /// What the writer reported about its components in this event.
    public var components: [ComponentStatus]

    /// Whether the event succeeded.
    public var succeeded: Bool { failure == nil }
}

/// A whole sequence the test kit ran: every event sent, in order, with its answer.
public struct SequenceRun: Sendable, Hashable {
    /// The session id used.
    public var session: String
    /// Every event sent, in order.
    public var records: [EventRecord]

    /// The events sent, in order.
    public var events: [WriterEvent] { records.map(\.event) }

    /// The answer to the first `event` sent, if it was sent.
    public func record(_ event: WriterEvent) -> EventRecord? { records.first { $0.event == event } }

    /// The writer's state after the last event.
    public var finalState: WriterState? { records.last?.state }

    /// The first failure, if any.
    public var firstFailure: EventRecord? { records.first { !$0.succeeded } }

    /// What the writer reported about each component over the whole sequence.
    public var components: [ComponentStatus] {
        var status = WriterStatus(name: "", classId: "", instanceId: "")
        for record in records { status.merge(record.components) }
        return status.components
    }
}
