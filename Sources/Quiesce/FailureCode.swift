/// Why a writer failed an event: VSS's writer error codes, plus the two the coordinator
/// produces itself (`notResponding`, `statusNotAvailable`).
public enum FailureCode: String, Codable, Sendable, CaseIterable {
    /// The snapshot set lacks volumes the writer needs; add them and retry.
    case inconsistentSnapshot = "inconsistent-snapshot"
    /// The writer ran out of memory or another resource; wait and retry.
    case outOfResources = "out-of-resources"
    /// The time between Freeze and Thaw ran out; wait and retry.
    case timeout
    /// A transient problem; retrying the whole sequence will likely work.
    case retryable
    /// A problem that will recur; do not retry this writer.
    case nonRetryable = "non-retryable"
    /// Auto-recovery of the snapshot failed.
    case recoveryFailed = "recovery-failed"
    /// Some components failed; see the component failures.
    case partialFailure = "partial-failure"
    /// Produced by the coordinator: the writer died, hung, or did not answer in time.
    case notResponding = "not-responding"
    /// Produced by the coordinator: the writer is at its limit of sessions.
    case statusNotAvailable = "status-not-available"

    /// The text `LastError` shows when there is no failure.
    public static let noErrorText = "no-error"
}
