/// A counting semaphore for tasks: at most `permits` operations hold a permit at once; the
/// others wait in the order they came (first in, first out). With one permit it runs
/// operations one at a time in order (a session's steps, a writer's events); with more it
/// bounds work in flight (calls to writers); ``tryAcquire()`` takes a permit only if one is
/// free (one snapshot set at a time). An operation runs in its caller's task: a free permit
/// costs one actor hop.
public actor AsyncSemaphore {
    private var available: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// A semaphore with `permits` permits (at least one).
    public init(permits: Int) {
        available = max(1, permits)
    }

    /// Runs `operation` once it holds a permit, and gives the permit back after.
    public func withPermit<T: Sendable>(_ operation: @Sendable () async -> T) async -> T {
        await acquire()
        defer { release() }
        return await operation()
    }

    /// Runs a throwing `operation` once it holds a permit, and gives the permit back after.
    public func withPermit<T: Sendable>(_ operation: @Sendable () async throws -> T) async throws -> T {
        try await withPermit { () async -> Result<T, any Error> in
            do { return .success(try await operation()) } catch { return .failure(error) }
        }.get()
    }

    /// Takes a permit if one is free, without waiting; pair it with ``release()``.
    public func tryAcquire() -> Bool {
        guard available > 0 else { return false }
        available -= 1
        return true
    }

    /// Gives a permit back: to the longest waiter, if any.
    public func release() {
        if waiting.isEmpty { available += 1 } else { waiting.removeFirst().resume() }
    }

    private func acquire() async {
        if available > 0 {
            available -= 1
        } else {
            await withCheckedContinuation { waiting.append($0) }
        }
    }
}
