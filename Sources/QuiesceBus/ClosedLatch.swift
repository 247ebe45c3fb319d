import Synchronization

/// Whether a bus connection has closed, and the tasks waiting until it does. Shared by
/// ``BusConnection`` (GDBus) and the libdbus-1 connection of `QuiesceServiceBus`.
package final class ClosedLatch: Sendable {
    private struct State {
        var isClosed = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// An open latch.
    package init() {}

    /// Whether ``close()`` has been called.
    package var isClosed: Bool { state.withLock { $0.isClosed } }

    /// Returns once the latch is closed.
    package func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.isClosed { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Closes the latch and wakes every waiter; returns `false` if it was closed already.
    @discardableResult
    package func close() -> Bool {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>]? in
            guard !state.isClosed else { return nil }
            state.isClosed = true
            defer { state.waiters = [] }
            return state.waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume() }
        return true
    }
}
