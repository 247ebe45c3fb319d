import Quiesce
import QuiesceBus
import QuiesceProtocol

/// One event as the writer received it, with its options checked.
package struct EventRequest: Sendable {
    package var event: WriterEvent
    package var sessionId: String
    /// The unique name of the sender.
    package var caller: String
    package var options: EventOptions

    /// An event for a session, with the options the coordinator would send.
    package init(event: WriterEvent, sessionId: String, caller: String = "", options: EventOptions = EventOptions()) {
        self.event = event
        self.sessionId = sessionId
        self.caller = caller
        self.options = options
    }

    /// Parses the arguments `(s session, a{sv} options)`, or throws `InvalidArgument`.
    init(event: WriterEvent, call: BusMethodCall) throws {
        guard call.arguments.count == 2, let sessionId = call.arguments[0].stringValue else {
            throw BusError(name: QuiesceErrorName.invalidArgument.rawValue, message: "expected (s session, a{sv} options)")
        }
        guard Identifiers.isValid(sessionId) else {
            throw BusError(name: QuiesceErrorName.invalidArgument.rawValue, message: "session id must be 1 to 64 letters, digits, '-' or '_'")
        }
        self.init(event: event, sessionId: sessionId, caller: call.sender, options: try EventOptions(parsing: call.arguments[1], for: event))
    }
}
