import Quiesce
import QuiesceBus

/// A writer's answer to an event: the result and its component reports, converted to and
/// from the `EventResult` key set of `org.quiesce.Writer1` (whose `components` mirror
/// ``ComponentStatus`` key for key).
public struct EventReply: Sendable, Hashable {
    /// State, failure, message and duration.
    public var result: EventResult
    /// What the writer reported about its components.
    public var components: [ComponentStatus]
    /// The writer's properties that the event changed, with their values after it (`State`,
    /// `LastError`, `LastMessage`, `Sessions`): what its PropertiesChanged will announce, for
    /// listeners that should not wait for it. Empty when the writer does not say.
    public var properties: [String: BusValue]

    /// Creates a reply.
    public init(result: EventResult, components: [ComponentStatus] = [], properties: [String: BusValue] = [:]) {
        self.result = result
        self.components = components
        self.properties = properties
    }

    /// The dictionary sent on the bus.
    public var wire: Writer1.EventResult {
        Writer1.EventResult(
            state: result.state, failure: result.failure?.rawValue ?? "", message: result.message,
            durationUs: result.durationMicroseconds,
            components: Dictionary(uniqueKeysWithValues: components.map { component in
                (component.fullPath, Writer1.ComponentReport(
                    failureMessages: component.failureMessages.isEmpty ? nil : component.failureMessages,
                    backupMetadata: component.backupMetadata, restoreMetadata: component.restoreMetadata,
                    failure: component.failure.map { Writer1.ComponentFailure(code: $0.code, applicationError: $0.applicationError, message: $0.message) }
                ))
            }),
            properties: properties.isEmpty ? nil : properties
        )
    }

    /// Reads a reply. `state` is required, and `code` in a component's `failure`; `failure`
    /// (empty: none), `message`, `duration-us`, `components` and `properties` are optional; a failure code
    /// that is not one of ``FailureCode``'s is an `InvalidArgument`.
    public init(_ wire: Writer1.EventResult) throws(QuiesceError) {
        guard let state = wire.state else { throw QuiesceError(.invalidArgument, "the result has no state") }
        let failureText = wire.failure ?? ""
        let failure = FailureCode(rawValue: failureText)
        guard failureText.isEmpty || failure != nil else {
            throw QuiesceError(.invalidArgument, "failure \(failureText.debugDescription) is not a failure code; expected one of \(FailureCode.allCases.map(\.rawValue).joined(separator: ", ")) or empty")
        }
        result = EventResult(state: state, failure: failure, message: wire.message ?? "", durationMicroseconds: wire.durationUs ?? 0)
        var components: [ComponentStatus] = []
        for (path, report) in wire.components ?? [:] {
            var failure: ComponentFailure?
            if let reported = report.failure {
                guard let code = reported.code else { throw QuiesceError(.invalidArgument, "the failure of component \(path) has no code") }
                failure = ComponentFailure(code: code, applicationError: reported.applicationError ?? 0, message: reported.message ?? "")
            }
            components.append(ComponentStatus(
                fullPath: path, failureMessages: report.failureMessages ?? [:], failure: failure,
                backupMetadata: report.backupMetadata, restoreMetadata: report.restoreMetadata
            ))
        }
        self.components = components.sorted { $0.fullPath < $1.fullPath }
        self.properties = wire.properties ?? [:]
    }
}
