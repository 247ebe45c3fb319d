import Quiesce

/// A mistake in how a writer uses the SDK, reported to the writer's author. Thrown by the
/// setters; a handler that lets it escape vetoes its event with the error as the message.
public enum WriterUsageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A setter was called outside an event handler (or from a task the handler did not run).
    case notInHandler(setter: String)
    /// A setter was called in a handler where VSS's rules do not allow it.
    case notAllowed(setter: String, event: WriterEvent, allowed: [WriterEvent])
    /// Metadata that may be set once per component was set again.
    case alreadySet(setter: String, component: String)
    /// The component is not one of the session's selected components.
    case unknownComponent(setter: String, component: String)
    /// A failure code the coordinator reserves for itself was used.
    case reservedFailureCode(FailureCode)
    /// Metadata longer than the coordinator accepts (`InputLimits.componentMetadataBytes`).
    case tooLarge(setter: String, component: String, bytes: Int)
    /// The writer cannot be created: a name that cannot be part of a bus name, an empty or
    /// overlong id, a freeze timeout out of range.
    case invalidWriter(String)

    /// A message for the writer's author.
    public var description: String {
        switch self {
        case .notInHandler(let setter):
            "\(setter) may only be called while an event handler runs, from the handler's own task"
        case .notAllowed(let setter, let event, let allowed):
            "\(setter) is not allowed in \(event.methodName); only in \(allowed.map(\.methodName).joined(separator: ", "))"
        case .alreadySet(let setter, let component):
            "\(setter) was already called for component \(component) in this session; it may be set once"
        case .unknownComponent(let setter, let component):
            "\(setter): \(component) is not a selected component of this session"
        case .reservedFailureCode(let code):
            "failure code \(code.rawValue) is reserved for the coordinator; writers may not set it"
        case .tooLarge(let setter, let component, let bytes):
            "\(setter): \(bytes) bytes for component \(component); at most \(InputLimits.componentMetadataBytes)"
        case .invalidWriter(let problem):
            problem
        }
    }
}
