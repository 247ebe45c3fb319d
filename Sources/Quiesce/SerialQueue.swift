/// Runs operations one at a time, in the order they were submitted.
public actor SerialQueue {
    private var tail: Task<Void, Never>?

    /// Creates an empty queue.
    public init() {}

    /// Runs `operation` after every operation submitted before it has finished.
    public func run<T: Sendable>(_ operation: @escaping @Sendable () async -> T) async -> T {
        let previous = tail
        let task = Task {
            await previous?.value
            return await operation()
        }
        tail = Task { _ = await task.value }
        return await task.value
    }

    /// Runs a throwing `operation` in turn (see ``run(_:)``).
    public func run<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await run { () async -> Result<T, any Error> in
            do { return .success(try await operation()) } catch { return .failure(error) }
        }.get()
    }
}
