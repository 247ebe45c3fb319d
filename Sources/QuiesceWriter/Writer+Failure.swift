import Quiesce
import Synchronization

/// A mistake in how a writer uses the SDK, reported to the writer's author.
public enum WriterUsageError: Error, Sendable, CustomStringConvertible {
    /// A setter was called outside an event handler.
    case notInHandler(String)
    /// A failure code the coordinator reserves for itself was used.
    case reservedFailureCode(FailureCode)

    /// A message for the writer's author.
    public var description: String {
        switch self {
        case .notInHandler(let setter):
            "\(setter) may only be called while an event handler runs (from the handler's own task)"
        case .reservedFailureCode(let code):
            "failure code \(code.rawValue) is reserved for the coordinator; writers may not set it"
        }
    }
}

/// What a handler reports about the event it handles. It belongs to one event of one
/// session, found through a task-local value, so concurrent sessions cannot mix reports.
final class EventReport: Sendable {
    struct Failure: Sendable {
        var code: FailureCode
        var message: String
    }

    private let failureStorage = Mutex<Failure?>(nil)

    var failure: Failure? { failureStorage.withLock { $0 } }

    func setFailure(_ failure: Failure) {
        failureStorage.withLock { $0 = failure }
    }

    @TaskLocal static var current: EventReport?
}

extension Writer {
    /// Vetoes the event being handled with `code` and an explanation for the requester. The
    /// event fails whatever the handler then returns. Call it from the handler's task.
    ///
    /// - Throws: ``WriterUsageError`` when called outside a handler, or with a code only the
    ///   coordinator may produce (`not-responding`, `status-not-available`).
    public func setWriterFailure(_ code: FailureCode, message: String = "") throws {
        guard code != .notResponding, code != .statusNotAvailable else {
            throw WriterUsageError.reservedFailureCode(code)
        }
        guard let report = EventReport.current else { throw WriterUsageError.notInHandler("setWriterFailure") }
        report.setFailure(.init(code: code, message: message))
    }
}
