import Synchronization

/// A counting semaphore for tasks: at most `permits` operations hold a permit at once; the
/// others wait in the order they came (first in, first out). With one permit it runs
/// operations one at a time in order (a session's steps, a writer's events); with more it
/// bounds work in flight (calls to writers); ``tryAcquire()`` takes a permit only if one is
/// free (one snapshot set at a time). An operation runs in its caller's task, and a free
/// permit is taken under a lock: no hop to another executor, no suspension.
public final class AsyncSemaphore: Sendable {
    private struct State {
        var available: Int
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    /// A semaphore with `permits` permits (at least one).
    public init(permits: Int) {
        state = Mutex(State(available: max(1, permits)))
    }

    /// Runs `operation` once it holds a permit, and gives the permit back after.
    public func withPermit<T: Sendable>(_ operation: @Sendable () async -> T) async -> T {
        await acquire()
        defer { release() }
        return await operation()
    }

    /// Runs a throwing `operation` once it holds a permit, and gives the permit back after.
    public func withPermit<T: Sendable>(_ operation: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await operation()
    }

    /// Takes a permit if one is free, without waiting; pair it with ``release()``.
    public func tryAcquire() -> Bool {
        state.withLock { state in
            guard state.available > 0 else { return false }
            state.available -= 1
            return true
        }
    }

    /// Gives a permit back: to the longest waiter, if any.
    public func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }

    private func acquire() async {
        if tryAcquire() { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            // A permit may have come back since tryAcquire: look again under the lock.
            let free = state.withLock { state -> Bool in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if free { continuation.resume() }
        }
    }
}
