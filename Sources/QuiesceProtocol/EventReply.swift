import Quiesce
import QuiesceBus

/// A writer's answer to an event as it travels on the bus: the result dictionary (`a{sv}`)
/// with its component reports.
public struct EventReply: Sendable, Hashable {
    /// State, failure, message and duration.
    public var result: EventResult
    /// What the writer reported about its components.
    public var components: [ComponentStatus]

    /// Creates a reply.
    public init(result: EventResult, components: [ComponentStatus] = []) {
        self.result = result
        self.components = components
    }

    /// The dictionary sent on the bus.
    public var busValue: BusValue {
        let entries = components.map { component -> BusValue.DictionaryEntry in
            var fields: [String: BusValue] = [:]
            for (event, message) in component.failureMessages { fields[Self.failureMessagePrefix + event] = .string(message) }
            if let metadata = component.backupMetadata { fields["backup-metadata"] = .string(metadata) }
            if let metadata = component.restoreMetadata { fields["restore-metadata"] = .string(metadata) }
            if let failure = component.failure {
                fields["failure"] = .string(failure.code.rawValue)
                fields["application-error"] = .int32(failure.applicationError)
                fields["failure-text"] = .string(failure.message)
            }
            return .init(key: .string(component.fullPath), value: .vardict(fields))
        }
        return .vardict([
            EventResult.Key.state: .string(result.state.rawValue),
            EventResult.Key.failure: .string(result.failure?.rawValue ?? ""),
            EventResult.Key.message: .string(result.message),
            EventResult.Key.durationMicroseconds: .uint64(result.durationMicroseconds),
            EventResult.Key.components: .dictionary(keyType: "s", valueType: "a{sv}", entries),
        ])
    }

    /// Reads a reply; `nil` when the dictionary is not a valid result.
    public init?(busValue: BusValue) {
        guard let values = busValue.stringKeyedDictionary,
            let state = values[EventResult.Key.state]?.stringValue.flatMap(WriterState.init(rawValue:))
        else { return nil }
        let failureText = values[EventResult.Key.failure]?.stringValue ?? ""
        guard failureText.isEmpty || FailureCode(rawValue: failureText) != nil else { return nil }
        result = EventResult(
            state: state,
            failure: failureText.isEmpty ? nil : FailureCode(rawValue: failureText),
            message: values[EventResult.Key.message]?.stringValue ?? "",
            durationMicroseconds: values[EventResult.Key.durationMicroseconds]?.uint64Value ?? 0
        )
        components = (values[EventResult.Key.components]?.stringKeyedDictionary ?? [:]).compactMap { path, value in
            guard let fields = value.stringKeyedDictionary else { return nil }
            var status = ComponentStatus(fullPath: path)
            for (key, value) in fields {
                guard let text = value.stringValue else { continue }
                if key.hasPrefix(Self.failureMessagePrefix) { status.failureMessages[String(key.dropFirst(Self.failureMessagePrefix.count))] = text }
            }
            status.backupMetadata = fields["backup-metadata"]?.stringValue
            status.restoreMetadata = fields["restore-metadata"]?.stringValue
            if let code = fields["failure"]?.stringValue.flatMap(FailureCode.init(rawValue:)) {
                var applicationError: Int32 = 0
                if case .int32(let value) = fields["application-error"] ?? .int32(0) { applicationError = value }
                status.failure = ComponentFailure(code: code, applicationError: applicationError, message: fields["failure-text"]?.stringValue ?? "")
            }
            return status
        }.sorted { $0.fullPath < $1.fullPath }
    }

    private static let failureMessagePrefix = "failure-message-"
}
