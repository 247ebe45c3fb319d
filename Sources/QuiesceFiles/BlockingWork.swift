import Foundation
import Synchronization

/// Set when the task waiting for blocking work is cancelled; the work checks it between steps.
public final class CancellationFlag: Sendable {
    private let cancelled = Atomic<Bool>(false)

    /// Creates a flag that is not set.
    public init() {}

    /// Sets the flag.
    public func cancel() { cancelled.store(true, ordering: .relaxed) }

    /// Whether the flag is set.
    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    /// Throws `CancellationError` when the flag is set.
    public func check() throws {
        if isCancelled { throw CancellationError() }
    }
}

/// Runs long blocking file work (copies, removals) on a thread of its own, so that it never
/// holds one of the few threads Swift concurrency runs every task on.
public enum BlockingWork {
    /// Runs `body` on a new thread and waits for it; cancelling the waiting task sets the flag
    /// `body` receives.
    public static func run<Value: Sendable>(_ body: @escaping @Sendable (CancellationFlag) throws -> Value) async throws -> Value {
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let thread = Thread {
                    continuation.resume(with: Result { try body(flag) })
                }
                thread.stackSize = 16 << 20
                thread.start()
            }
        } onCancel: {
            flag.cancel()
        }
    }
}
