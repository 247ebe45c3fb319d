import Quiesce

/// A writer that answered Identify in a session, and everything the session knows about it.
struct SessionParticipant: Sendable {
    /// The writer's bus connection at Identify: events go there, so a restarted writer never
    /// receives Thaw for a Freeze it did not see.
    var owner: String
    var metadata: WriterMetadata
    var selectedComponents: [String] = []
    var status: WriterStatus
    /// Events sent so far, whatever their outcome.
    var sentEvents: Set<WriterEvent> = []
    /// Set when PostSnapshot succeeded after a successful Freeze and Thaw.
    var snapshotIsConsistent = false

    init(owner: String, metadata: WriterMetadata) {
        self.owner = owner
        self.metadata = metadata
        self.status = WriterStatus(name: metadata.name, classId: metadata.classId, instanceId: metadata.instanceId)
    }

    var name: String { metadata.name }

    /// Whether the writer takes part in the backup (has selected components).
    var isSelected: Bool { !selectedComponents.isEmpty }

    /// Whether the writer still receives the sequence's events.
    var isActive: Bool { isSelected && status.failure == nil }

    mutating func record(_ event: WriterEvent, _ result: EventResult) {
        sentEvents.insert(event)
        status.state = result.state
        status.lastEvent = event
        status.eventMilliseconds[event.methodName] = Double(result.durationMicroseconds) / 1000
        if let failure = result.failure, status.failure == nil {
            status.failure = failure
            status.message = result.message
        }
    }
}
