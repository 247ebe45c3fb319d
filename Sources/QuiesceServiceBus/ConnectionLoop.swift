internal import CDBus
#if canImport(Glibc)
import Glibc
#endif
import Quiesce
import Synchronization

/// The one thread that drives a libdbus-1 connection: it polls the socket for what libdbus
/// watches, runs libdbus's timeouts (replies that do not come), reads and dispatches messages
/// and runs the work handed to it with ``perform(_:)``. Any thread may send a message at any
/// time: libdbus writes it at once from that thread, or queues it and wakes the loop.
final class ConnectionLoop: @unchecked Sendable {
    /// The connection (`DBusConnection *`); the loop holds one reference until it ends.
    let connection: OpaquePointer
    /// A pipe whose write end wakes the loop's `poll` (both ends non-blocking).
    private let wakePipe: (read: Int32, write: Int32)

    private struct State {
        var watches: [LibDBusPointer] = []
        /// Each enabled timeout and when it next fires.
        var timeouts: [LibDBusPointer: ContinuousClock.Instant] = [:]
        var work: [@Sendable () -> Void] = []
        /// The thread has ended: work runs at once on the caller's thread.
        var hasEnded = false
        /// While the loop polls, or is about to: until when (`.some(nil)`: until something
        /// happens); `nil` while it runs. Only a polling loop needs the pipe to wake it, and a
        /// timeout added by another thread only if it is due sooner.
        var polling: ContinuousClock.Instant?? = nil
    }

    private let state = Mutex(State())
    /// The loop's thread (`pthread_t`), 0 until it starts: wakes from it are not needed.
    private let thread = Atomic<UInt>(0)

    /// Takes over `connection` (one reference); ``start()`` starts the thread.
    init(connection: OpaquePointer) {
        self.connection = connection
        var ends: [Int32] = [-1, -1]
        pipe(&ends)
        for end in ends {
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        wakePipe = (ends[0], ends[1])
        let me = Unmanaged.passUnretained(self).toOpaque()
        dbus_connection_set_watch_functions(
            connection,
            { watch, data in ConnectionLoop.from(data).changeWatches { $0.append(LibDBusPointer(watch!)) } },
            { watch, data in _ = ConnectionLoop.from(data).changeWatches { $0.removeAll { $0.raw == watch } } },
            { _, data in ConnectionLoop.from(data).wake() },
            me, nil
        )
        dbus_connection_set_timeout_functions(
            connection,
            { timeout, data in ConnectionLoop.from(data).timeoutChanged(timeout!) },
            { timeout, data in ConnectionLoop.from(data).removeTimeout(timeout!) },
            { timeout, data in _ = ConnectionLoop.from(data).timeoutChanged(timeout!) },
            me, nil
        )
        dbus_connection_set_wakeup_main_function(connection, { data in ConnectionLoop.from(data).wake() }, me, nil)
        dbus_connection_set_dispatch_status_function(
            connection,
            { _, status, data in if status == DBUS_DISPATCH_DATA_REMAINS { ConnectionLoop.from(data).wake() } },
            me, nil
        )
    }

    /// Starts the thread; it holds the loop until the connection is gone, then runs `onEnd`.
    func start(onEnd: @escaping @Sendable () -> Void) {
        var thread = pthread_t()
        let retained = Unmanaged.passRetained(Box(loop: self, onEnd: onEnd)).toOpaque()
        pthread_create(&thread, nil, { data in
            let box = Unmanaged<Box>.fromOpaque(data!).takeRetainedValue()
            box.loop.thread.store(UInt(pthread_self()), ordering: .releasing)
            box.loop.run()
            box.onEnd()
            box.loop.finish()
            return nil
        }, retained)
        pthread_detach(thread)
    }

    private final class Box {
        let loop: ConnectionLoop
        let onEnd: @Sendable () -> Void
        init(loop: ConnectionLoop, onEnd: @escaping @Sendable () -> Void) {
            self.loop = loop
            self.onEnd = onEnd
        }
    }

    private static func from(_ data: UnsafeMutableRawPointer?) -> ConnectionLoop {
        Unmanaged<ConnectionLoop>.fromOpaque(data!).takeUnretainedValue()
    }

    /// Runs `body` on the loop's thread, soon (or at once if the loop has ended: libdbus calls
    /// on a closed connection fail without blocking). `body` must not block.
    func perform(_ body: @escaping @Sendable () -> Void) {
        let queued = state.withLock { state -> Bool in
            if state.hasEnded { return false }
            state.work.append(body)
            return true
        }
        if queued { wake() } else { body() }
    }

    /// Makes the loop's `poll` return, if it polls: a loop that does not looks at its watches,
    /// timeouts, work and messages again (under the lock that marks it polling) before it does.
    private func wake() {
        if thread.load(ordering: .acquiring) == UInt(pthread_self()) { return }
        guard state.withLock({ $0.polling != nil }) else { return }
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)  // a full pipe wakes the loop as well
    }

    private func changeWatches(_ change: (inout [LibDBusPointer]) -> Void) -> dbus_bool_t {
        state.withLock { change(&$0.watches) }
        wake()
        return 1
    }

    /// A timeout was added or changed: the loop needs waking only if it polls past it (the loop
    /// sends calls itself, but libdbus-1 may add a timeout from any thread that sends).
    private func timeoutChanged(_ timeout: OpaquePointer) -> dbus_bool_t {
        let enabled = dbus_timeout_get_enabled(timeout) != 0
        let due = ContinuousClock.now + .milliseconds(Int64(dbus_timeout_get_interval(timeout)))
        let pollsPast = state.withLock { state -> Bool in
            state.timeouts[LibDBusPointer(timeout)] = enabled ? due : nil
            guard enabled, case .some(let until) = state.polling else { return false }
            return until.map { due < $0 } ?? true
        }
        if pollsPast { wake() }
        return 1
    }

    private func removeTimeout(_ timeout: OpaquePointer) {
        state.withLock { $0.timeouts[LibDBusPointer(timeout)] = nil }
    }

    private func run() {
        while true {
            for body in state.withLock({ state in defer { state.work = [] }; return state.work }) { body() }
            // Messages read, timed out or queued by the work (a close queues Disconnected) go
            // out before the loop sleeps again.
            while dbus_connection_get_dispatch_status(connection) == DBUS_DISPATCH_DATA_REMAINS {
                dbus_connection_dispatch(connection)
            }
            if dbus_connection_get_is_connected(connection) == 0 { break }
            // Looked at after the work ran: it may have enabled a watch or handed over more work.
            let (watches, wait) = state.withLock { state in
                let soonest = state.timeouts.values.min()
                let wait = state.work.isEmpty ? soonest.map { Int32(clamping: ($0 - .now).wholeMilliseconds + 1) } ?? -1 : 0
                state.polling = .some(soonest)
                return (state.watches.filter { dbus_watch_get_enabled($0.raw) != 0 }, wait)
            }
            var descriptors = watches.map { watch in
                let flags = dbus_watch_get_flags(watch.raw)
                let events = ((flags & DBUS_WATCH_READABLE.rawValue) != 0 ? POLLIN : 0) | ((flags & DBUS_WATCH_WRITABLE.rawValue) != 0 ? POLLOUT : 0)
                return pollfd(fd: dbus_watch_get_unix_fd(watch.raw), events: Int16(events), revents: 0)
            }
            descriptors.append(pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0))
            // Work handed over by another thread from here on writes the pipe: poll returns.
            let ready = poll(&descriptors, nfds_t(descriptors.count), wait)
            state.withLock { $0.polling = nil }
            if ready > 0 {
                if descriptors.last!.revents != 0 {
                    var bytes = [UInt8](repeating: 0, count: 64)
                    while read(wakePipe.read, &bytes, bytes.count) > 0 {}
                }
                for (watch, descriptor) in zip(watches, descriptors) where descriptor.revents != 0 {
                    // A watch libdbus removed meanwhile is gone: never hand it back.
                    guard state.withLock({ $0.watches.contains(watch) }) else { continue }
                    dbus_watch_handle(watch.raw, Self.watchFlags(descriptor.revents))
                }
            }
            runDueTimeouts()
        }
        let left = state.withLock { state in
            state.hasEnded = true
            defer { state.work = [] }
            return state.work
        }
        for body in left { body() }
    }

    /// Unhooks the loop from the connection and drops its reference.
    private func finish() {
        dbus_connection_set_watch_functions(connection, nil, nil, nil, nil, nil)
        dbus_connection_set_timeout_functions(connection, nil, nil, nil, nil, nil)
        dbus_connection_set_wakeup_main_function(connection, nil, nil, nil)
        dbus_connection_set_dispatch_status_function(connection, nil, nil, nil)
        dbus_connection_unref(connection)
        close(wakePipe.read)
        close(wakePipe.write)
    }

    private static func watchFlags(_ events: Int16) -> UInt32 {
        var flags: UInt32 = 0
        if events & Int16(POLLIN) != 0 { flags |= DBUS_WATCH_READABLE.rawValue }
        if events & Int16(POLLOUT) != 0 { flags |= DBUS_WATCH_WRITABLE.rawValue }
        if events & Int16(POLLERR) != 0 { flags |= DBUS_WATCH_ERROR.rawValue }
        if events & Int16(POLLHUP) != 0 { flags |= DBUS_WATCH_HANGUP.rawValue }
        return flags
    }

    private func runDueTimeouts() {
        let now = ContinuousClock.now
        let due = state.withLock { state in state.timeouts.filter { $0.value <= now }.map(\.key) }
        for timeout in due {
            // Repeats every interval until libdbus removes or disables it (which happens on
            // this thread: the loop makes every call that has a timeout and reads its reply).
            let registered = state.withLock { state -> Bool in
                guard state.timeouts[timeout] != nil else { return false }
                state.timeouts[timeout] = now + .milliseconds(Int64(dbus_timeout_get_interval(timeout.raw)))
                return true
            }
            if registered { dbus_timeout_handle(timeout.raw) }
        }
    }
}
