import Quiesce
import Synchronization

/// What a handler reports about the event it handles: the writer's failure and its component
/// changes. It belongs to one event of one session and is found through a task-local value, so
/// concurrent sessions cannot mix their reports.
final class EventReport: Sendable {
    /// A writer-level failure.
    struct Failure: Sendable, Hashable {
        var code: FailureCode
        var message: String
    }

    struct Content {
        var failure: Failure?
        var components: [String: ComponentStatus] = [:]
        var backupMetadataSet: Set<String>
        var restoreMetadataSet: Set<String>
    }

    let event: WriterEvent
    let selectedComponents: Set<String>
    private let content: Mutex<Content>

    @TaskLocal static var current: EventReport?

    init(event: WriterEvent, selectedComponents: [String], backupMetadataSet: Set<String>, restoreMetadataSet: Set<String>) {
        self.event = event
        self.selectedComponents = Set(selectedComponents)
        self.content = Mutex(Content(backupMetadataSet: backupMetadataSet, restoreMetadataSet: restoreMetadataSet))
    }

    var failure: Failure? { content.withLock { $0.failure } }

    func setFailure(_ failure: Failure) {
        content.withLock { $0.failure = failure }
    }

    /// The component reports of the event. When the event failed, only what explains the
    /// failure is kept (failure messages and component failures): metadata set in a failed
    /// event is dropped.
    func components(eventFailed: Bool) -> [ComponentStatus] {
        content.withLock { content in
            content.components.values.map { status in
                var status = status
                if eventFailed {
                    status.backupMetadata = nil
                    status.restoreMetadata = nil
                }
                return status
            }.filter { !$0.isEmpty }.sorted { $0.fullPath < $1.fullPath }
        }
    }

    /// Which components got backup and restore metadata in this event.
    var metadataSet: (backup: Set<String>, restore: Set<String>) {
        content.withLock { ($0.backupMetadataSet, $0.restoreMetadataSet) }
    }

    /// Checks the setter's rules, then changes the component's report.
    func update(
        _ setter: String,
        component: String,
        allowedIn allowed: [WriterEvent],
        change: (inout ComponentStatus, inout Content) throws(WriterUsageError) -> Void
    ) throws(WriterUsageError) {
        guard allowed.contains(event) else { throw .notAllowed(setter: setter, event: event, allowed: allowed) }
        guard selectedComponents.contains(component) else { throw .unknownComponent(setter: setter, component: component) }
        try content.withLock { (content: inout Content) throws(WriterUsageError) in
            var status = content.components[component] ?? ComponentStatus(fullPath: component)
            try change(&status, &content)
            content.components[component] = status
        }
    }

    /// Records backup or restore metadata, once per component and session.
    func setMetadata(_ setter: String, _ value: String, component: String, allowedIn allowed: [WriterEvent], restore: Bool) throws(WriterUsageError) {
        guard value.utf8.count <= InputLimits.componentMetadataBytes else {
            throw .tooLarge(setter: setter, component: component, bytes: value.utf8.count)
        }
        try update(setter, component: component, allowedIn: allowed) { (status, content) throws(WriterUsageError) in
            if restore {
                guard content.restoreMetadataSet.insert(component).inserted else { throw .alreadySet(setter: setter, component: component) }
                status.restoreMetadata = value
            } else {
                guard content.backupMetadataSet.insert(component).inserted else { throw .alreadySet(setter: setter, component: component) }
                status.backupMetadata = value
            }
        }
    }
}
