internal import CDBus
import QuiesceBus
import Synchronization

/// Waits for the reply to one call and resumes the calling task with it, exactly once: with the
/// reply, with the call's timeout, with `CancellationError` when the task is cancelled, or with
/// `Disconnected` when the connection ends first (libdbus-1 then frees the pending call without
/// completing it). A cancelled call stays pending until its reply or timeout, which are dropped:
/// the bus keeps counting it against the peer either way.
final class ReplyWaiter: Sendable {
    private struct State {
        var continuation: CheckedContinuation<[BusValue], any Error>?
        var isCancelled = false
    }

    private let state = Mutex(State())

    /// Takes the continuation to resume; `false` (and resumes it at once) if the task was
    /// cancelled before the call went out.
    func start(_ continuation: CheckedContinuation<[BusValue], any Error>) -> Bool {
        let cancelled = state.withLock { state -> Bool in
            if state.isCancelled { return true }
            state.continuation = continuation
            return false
        }
        if cancelled { continuation.resume(throwing: CancellationError()) }
        return !cancelled
    }

    /// Follows `pending`: its reply (or its end) resumes the task. Call once, on the loop's
    /// thread right after sending (the only thread that completes pending calls, so the reply
    /// cannot come before the notify function is set).
    func follow(_ pending: OpaquePointer) {
        dbus_pending_call_set_notify(
            pending,
            { pending, data in ReplyWaiter.from(data).completed(pending!) },
            Unmanaged.passRetained(self).toOpaque(),
            { data in Unmanaged<ReplyWaiter>.fromOpaque(data!).takeRetainedValue().freed() }
        )
    }

    /// Fails the call (it could not be sent).
    func fail(_ error: BusError) {
        take()?.resume(throwing: error)
    }

    private static func from(_ data: UnsafeMutableRawPointer?) -> ReplyWaiter {
        Unmanaged<ReplyWaiter>.fromOpaque(data!).takeUnretainedValue()
    }

    private func take() -> CheckedContinuation<[BusValue], any Error>? {
        state.withLock { state in
            defer { state.continuation = nil }
            return state.continuation
        }
    }

    /// The pending call has its reply (on the loop's thread).
    private func completed(_ pending: OpaquePointer) {
        guard let reply = dbus_pending_call_steal_reply(pending) else { return }
        defer { dbus_message_unref(reply) }
        guard let continuation = take() else { return }
        let arguments = BusValue.arguments(of: reply)
        guard dbus_message_get_type(reply) == MessageType.error else { return continuation.resume(returning: arguments) }
        var name = dbus_message_get_error_name(reply).map { String(cString: $0) } ?? BusError.failed
        // libdbus-1 makes up a NoReply of its own (no sender) when the timeout passes; the bus's
        // NoReply (the peer left without replying) comes from the bus.
        if name == BusError.noReply && dbus_message_get_sender(reply) == nil { name = BusError.timedOut }
        continuation.resume(throwing: BusError(name: name, message: arguments.first?.stringValue ?? ""))
    }

    /// libdbus-1 freed the pending call: a call not answered by now never will be.
    private func freed() {
        take()?.resume(throwing: BusError(name: BusError.disconnected, message: "the connection ended before the reply came"))
    }

    /// The task was cancelled: resumes it with `CancellationError` (at once, or as the call
    /// starts).
    func cancel() {
        let continuation = state.withLock { state in
            state.isCancelled = true
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(throwing: CancellationError())
    }
}
