/// One writer as `ListWriters` reports it (a line of `quiescectl writers`).
public struct WriterSummary: Codable, Sendable, Hashable {
    /// The writer's name.
    public var name: String
    /// UUID of the kind of application.
    public var classId: String
    /// UUID of this instance.
    public var instanceId: String
    /// The writer's current state (`stable`, `failed-at-freeze`, ...).
    public var state: String
    /// The writer's last error (`no-error`, `retryable`, ...).
    public var lastError: String
    /// The last time it failed in a session, from the history (`nil`: not in the history, or
    /// the caller may not read it).
    public var lastFailure: LastFailure?

    /// Creates a summary.
    public init(name: String, classId: String, instanceId: String, state: String, lastError: String, lastFailure: LastFailure? = nil) {
        self.name = name
        self.classId = classId
        self.instanceId = instanceId
        self.state = state
        self.lastError = lastError
        self.lastFailure = lastFailure
    }
}
