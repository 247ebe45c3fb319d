import Foundation
import Quiesce

/// The last time a writer failed, from the coordinator's history: what `quiescectl writers`
/// shows beside the writer's current state (which a later BackupShutdown or a restart resets).
public struct LastFailure: Codable, Sendable, Hashable {
    /// The session it failed in.
    public var sessionId: String
    /// When that session ended.
    public var when: Date
    /// The event it failed, if known.
    public var event: WriterEvent?
    /// Its failure code (`retryable`, `timeout`, ...), or its failed state when it gave none.
    public var failure: String
    /// Its message.
    public var message: String

    /// Creates a record.
    public init(sessionId: String, when: Date, event: WriterEvent?, failure: String, message: String) {
        self.sessionId = sessionId
        self.when = when
        self.event = event
        self.failure = failure
        self.message = message
    }

    /// By writer name, the newest failure in `records` (newest first, as the history lists them).
    public static func byWriter(in records: [SessionRecord]) -> [String: LastFailure] {
        var found: [String: LastFailure] = [:]
        for record in records {
            for status in record.failedWriters where found[status.name] == nil {
                found[status.name] = LastFailure(
                    sessionId: record.id, when: record.ended, event: status.failedEvent,
                    failure: status.failure?.rawValue ?? status.state.rawValue, message: status.message
                )
            }
        }
        return found
    }
}
