/// A writer's status in one session, as a requester reads it (GetWriterStatus).
public struct WriterStatus: Codable, Sendable, Hashable {
    /// The writer's name.
    public var name: String
    /// UUID of the kind of application.
    public var classId: String
    /// UUID of this instance.
    public var instanceId: String
    /// The state after the last event.
    public var state: WriterState
    /// Why the writer failed, if it did.
    public var failure: FailureCode?
    /// The writer's (or the coordinator's) explanation of the failure.
    public var message: String
    /// The last event sent to the writer.
    public var lastEvent: WriterEvent?
    /// The event the writer first failed in the session, if it failed one.
    public var failedEvent: WriterEvent?
    /// How long each event took, in milliseconds, by event method name.
    public var eventMilliseconds: [String: Double]
    /// Per component: failure messages, component failures and metadata the writer set.
    public var components: [ComponentStatus]

    /// Creates a status record.
    public init(
        name: String,
        classId: String,
        instanceId: String,
        state: WriterState = .stable,
        failure: FailureCode? = nil,
        message: String = "",
        lastEvent: WriterEvent? = nil,
        failedEvent: WriterEvent? = nil,
        eventMilliseconds: [String: Double] = [:],
        components: [ComponentStatus] = []
    ) {
        self.name = name
        self.classId = classId
        self.instanceId = instanceId
        self.state = state
        self.failure = failure
        self.message = message
        self.lastEvent = lastEvent
        self.failedEvent = failedEvent
        self.eventMilliseconds = eventMilliseconds
        self.components = components
    }

    /// Records what a writer reported about its components (linear in the reports; later
    /// values replace earlier ones).
    public mutating func merge(_ reports: [ComponentStatus]) {
        guard !reports.isEmpty else { return }
        var byPath = Dictionary(components.map { ($0.fullPath, $0) }, uniquingKeysWith: { $1 })
        for report in reports {
            byPath[report.fullPath, default: ComponentStatus(fullPath: report.fullPath)].merge(report)
        }
        components = byPath.values.sorted { $0.fullPath < $1.fullPath }
    }

    /// The status of one component, if the writer reported anything about it.
    public func component(_ fullPath: String) -> ComponentStatus? {
        components.first { $0.fullPath == fullPath }
    }

    /// The status without the writer's private backup and restore metadata (what anyone but
    /// the session's owner and root may read).
    public var withoutMetadata: WriterStatus {
        var status = self
        for index in status.components.indices {
            status.components[index].backupMetadata = nil
            status.components[index].restoreMetadata = nil
        }
        return status
    }

    /// Whether the writer has failed in this session.
    public var hasFailed: Bool { failure != nil || state.isFailed }
}
