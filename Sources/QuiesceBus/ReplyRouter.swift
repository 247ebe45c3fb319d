internal import CGLib
import Synchronization

/// Delivers the replies to ``BusConnection``'s calls straight from GDBus's worker thread, where
/// they arrive, to the waiting task. `g_dbus_connection_call` would hand the call to the bus
/// thread's main context to send it, and hand the reply back there before resuming the task:
/// two more thread wake-ups per call, on the path every writer event takes in quiesced.
/// Timeouts are kept by one sweeper task that runs only while calls wait, so a call costs no
/// timer of its own.
final class ReplyRouter: Sendable {
    /// A call waiting for its reply.
    final class Call: Sendable {
        fileprivate struct State {
            var continuation: CheckedContinuation<[BusValue], any Error>?
            var serial: UInt32?
            var isCancelled = false
        }
        fileprivate let state = Mutex(State())
    }

    private struct Waiting {
        var call: Call
        var deadline: ContinuousClock.Instant?
        var timeout: Duration?
    }

    private struct Pending {
        var calls: [UInt32: Waiting] = [:]
        var isClosed = false
        var isSweeping = false
    }

    private let pending = Mutex(Pending())
    /// How often the sweeper looks for calls past their deadline.
    private static let sweepInterval = Duration.milliseconds(100)

    /// The error of a call that was cancelled.
    static let cancelled = BusError(name: "org.quiesce.Bus.Cancelled", message: "the call was cancelled")

    /// Sends `message` (a method call) and resumes `continuation` with its reply, its error, a
    /// timeout after `timeout` (`nil`: none), or ``cancelled`` once ``cancel(_:)`` is called.
    func send(
        _ message: OpaquePointer, on connection: GLibPointer, timeout: Duration?, as call: Call,
        _ continuation: CheckedContinuation<[BusValue], any Error>
    ) {
        let cancelled = call.state.withLock { state in
            state.continuation = continuation
            return state.isCancelled
        }
        if cancelled {
            finish(call, .failure(Self.cancelled))
            return
        }
        // Sent and registered under one lock: the worker cannot look the reply up before.
        let (failure, startSweeper) = pending.withLock { pending -> (BusError?, Bool) in
            if pending.isClosed { return (BusError(name: BusError.disconnected, message: "the connection is closed"), false) }
            var serial: UInt32 = 0
            var error: UnsafeMutablePointer<GError>?
            guard g_dbus_connection_send_message(connection.raw, message, G_DBUS_SEND_MESSAGE_FLAGS_NONE, &serial, &error) != 0 else {
                return (BusError(consuming: error!), false)
            }
            pending.calls[serial] = Waiting(call: call, deadline: timeout.map { ContinuousClock.now + $0 }, timeout: timeout)
            call.state.withLock { $0.serial = serial }
            guard timeout != nil, !pending.isSweeping else { return (nil, false) }
            pending.isSweeping = true
            return (nil, true)
        }
        if let failure { finish(call, .failure(failure)) }
        if startSweeper { Task { [weak self] in await self?.sweep() } }
    }

    /// Fails the calls past their deadline, until no call with a timeout waits.
    private func sweep() async {
        while true {
            try? await Task.sleep(for: Self.sweepInterval)
            let now = ContinuousClock.now
            let (expired, done) = pending.withLock { pending -> ([Waiting], Bool) in
                let expired = pending.calls.filter { $0.value.deadline.map { $0 <= now } ?? false }
                for serial in expired.keys { pending.calls[serial] = nil }
                let done = !pending.calls.values.contains { $0.deadline != nil }
                if done { pending.isSweeping = false }
                return (Array(expired.values), done)
            }
            for waiting in expired {
                finish(waiting.call, .failure(BusError(name: BusError.timeout, message: "no reply within \(waiting.timeout ?? .zero)")))
            }
            if done { return }
        }
    }

    /// Fails a call that is still waiting with ``cancelled``.
    func cancel(_ call: Call) {
        let serial = call.state.withLock { state in
            state.isCancelled = true
            return state.serial
        }
        if let serial { pending.withLock { _ = $0.calls.removeValue(forKey: serial) } }
        finish(call, .failure(Self.cancelled))
    }

    /// Fails every waiting call, and every later one: the connection is closed.
    func close() {
        let calls = pending.withLock { pending -> [Waiting] in
            pending.isClosed = true
            defer { pending.calls = [:] }
            return Array(pending.calls.values)
        }
        for waiting in calls { finish(waiting.call, .failure(BusError(name: BusError.disconnected, message: "the connection was closed"))) }
    }

    /// Resumes the call's task once, whichever of reply, timeout and cancellation comes first.
    private func finish(_ call: Call, _ result: Result<[BusValue], BusError>) {
        let continuation = call.state.withLock { state in
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(with: result.mapError { $0 as any Error })
    }

    /// Installs the router as a message filter of `connection`.
    func install(on connection: GLibPointer) {
        let box = CallbackBox(self)
        g_dbus_connection_add_filter(
            connection.raw,
            { _, message, incoming, userData in
                guard let message, incoming != 0 else { return message }
                return CallbackBox<ReplyRouter>.borrow(userData).value.route(message)
            },
            box.retainedPointer(),
            AnyCallbackBox.release
        )
    }

    /// Takes the message (returns `nil`) when it answers one of our calls.
    private func route(_ message: OpaquePointer) -> OpaquePointer? {
        let type = g_dbus_message_get_message_type(message)
        guard type == G_DBUS_MESSAGE_TYPE_METHOD_RETURN || type == G_DBUS_MESSAGE_TYPE_ERROR else { return message }
        let serial = g_dbus_message_get_reply_serial(message)
        guard let waiting = pending.withLock({ $0.calls.removeValue(forKey: serial) }) else { return message }
        defer { g_object_unref(UnsafeMutableRawPointer(message)) }
        let values = g_dbus_message_get_body(message).map { BusValue.children(of: $0) } ?? []
        if type == G_DBUS_MESSAGE_TYPE_ERROR {
            let name = g_dbus_message_get_error_name(message).map { String(cString: $0) } ?? BusError.failed
            finish(waiting.call, .failure(BusError(name: name, message: values.first?.stringValue ?? "")))
        } else {
            finish(waiting.call, .success(values))
        }
        return nil
    }
}
