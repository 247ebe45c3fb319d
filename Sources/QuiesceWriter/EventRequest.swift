import Quiesce
import QuiesceBus

/// One event as the writer received it, with its options checked.
package struct EventRequest: Sendable {
    package var event: WriterEvent
    package var sessionId: String
    package var caller: String
    package var backupType: BackupType?
    package var components: [String]?
    package var snapshotSetId: String?
    package var volumes: [String]?
    package var lease: Duration?
    package var succeeded: Bool?

    /// An event for a session, with the options the coordinator would send.
    package init(
        event: WriterEvent,
        sessionId: String,
        caller: String = "",
        backupType: BackupType? = nil,
        components: [String]? = nil,
        snapshotSetId: String? = nil,
        volumes: [String]? = nil,
        lease: Duration? = nil,
        succeeded: Bool? = nil
    ) {
        self.event = event
        self.sessionId = sessionId
        self.caller = caller
        self.backupType = backupType
        self.components = components
        self.snapshotSetId = snapshotSetId
        self.volumes = volumes
        self.lease = lease
        self.succeeded = succeeded
    }

    /// Parses the arguments `(s session, a{sv} options)`, or throws `InvalidArgument`.
    init(event: WriterEvent, call: BusMethodCall) throws {
        self.event = event
        self.caller = call.sender
        guard call.arguments.count == 2, let sessionId = call.arguments[0].stringValue,
            let options = call.arguments[1].stringKeyedDictionary
        else { throw Self.invalid("expected (s session, a{sv} options)") }
        guard Self.isValidSessionId(sessionId) else {
            throw Self.invalid("session id must be 1 to 64 letters, digits, '-' or '_'")
        }
        self.sessionId = sessionId
        for (key, value) in options {
            switch key {
            case EventOptionKey.backupType:
                guard let text = value.stringValue, let type = BackupType(rawValue: text) else {
                    throw Self.invalid("\(key) must be one of \(BackupType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                backupType = type
            case EventOptionKey.components:
                guard let list = value.stringArray, list.count <= 4096 else { throw Self.invalid("\(key) must be as") }
                components = list
            case EventOptionKey.snapshotSetId:
                guard let id = value.stringValue, Self.isValidSessionId(id) else { throw Self.invalid("\(key) must be an id") }
                snapshotSetId = id
            case EventOptionKey.volumes:
                guard let list = value.stringArray, list.count <= 64, list.allSatisfy(PathRules.isAbsoluteNormalized) else {
                    throw Self.invalid("\(key) must be at most 64 absolute normalized paths")
                }
                volumes = list
            case EventOptionKey.leaseMilliseconds:
                guard case .uint32(let milliseconds) = value, milliseconds > 0, event == .freeze else {
                    throw Self.invalid("\(key) must be a positive u, sent with Freeze only")
                }
                lease = .milliseconds(milliseconds)
            case EventOptionKey.succeeded:
                guard let flag = value.boolValue else { throw Self.invalid("\(key) must be b") }
                succeeded = flag
            default:
                throw Self.invalid("unknown option \(key)")
            }
        }
    }

    static func isValidSessionId(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64
            && id.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }
    }

    private static func invalid(_ message: String) -> BusError {
        BusError(name: QuiesceErrorName.invalidArgument.rawValue, message: message)
    }
}
