/// What a writer answers to an event: the `result` dictionary of every `org.quiesce.Writer1`
/// event method.
public struct EventResult: Sendable, Hashable {
    /// The writer's state for the session after the event.
    public var state: WriterState
    /// Why the event failed; `nil` on success.
    public var failure: FailureCode?
    /// The writer's explanation of the failure.
    public var message: String
    /// How long the handler ran, in microseconds.
    public var durationMicroseconds: UInt64

    /// Creates a result.
    public init(state: WriterState, failure: FailureCode? = nil, message: String = "", durationMicroseconds: UInt64 = 0) {
        self.state = state
        self.failure = failure
        self.message = message
        self.durationMicroseconds = durationMicroseconds
    }
}
