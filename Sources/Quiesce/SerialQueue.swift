/// Runs operations one at a time, in the order they were submitted. An operation runs in its
/// caller's task (no task is created), so a free queue costs one actor hop.
public actor SerialQueue {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Creates an empty queue.
    public init() {}

    /// Runs `operation` after every operation submitted before it has finished.
    public func run<T: Sendable>(_ operation: @Sendable () async -> T) async -> T {
        if busy {
            await withCheckedContinuation { waiting.append($0) }
        } else {
            busy = true
        }
        defer {
            if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
        }
        return await operation()
    }

    /// Runs a throwing `operation` in turn (see ``run(_:)``).
    public func run<T: Sendable>(_ operation: @Sendable () async throws -> T) async throws -> T {
        try await run { () async -> Result<T, any Error> in
            do { return .success(try await operation()) } catch { return .failure(error) }
        }.get()
    }
}
