import Quiesce
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
}
