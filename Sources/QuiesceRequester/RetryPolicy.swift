import Quiesce

/// What the requester does about one failed writer before the next attempt.
public enum RetryAction: Sendable, Hashable {
    /// Try again unchanged after a pause.
    case retry(after: Duration)
    /// Add these volumes to the snapshot set and try again.
    case addVolumes([String])
    /// Restart the writer's service, then try once more.
    case restartWriter
    /// Do not retry for this writer; go on without it when it is optional.
    case giveUp
}

/// A decision about one failed writer, with its reason (printed for the operator).
public struct RetryDecision: Sendable, Hashable, CustomStringConvertible {
    /// The writer.
    public var writer: String
    /// Its failure.
    public var failure: FailureCode
    /// What to do.
    public var action: RetryAction
    /// Why, in words.
    public var reason: String

    /// `writer: failure → action, because reason`.
    public var description: String { "\(writer) failed with \(failure.rawValue): \(reason)" }
}

/// How a requester retries after writer failures, following Microsoft's advice for each code
/// (`writer-errors-and-vetoes`): add volumes for `inconsistent-snapshot`; retry unchanged with
/// backoff for `retryable`, restarting the writer's service after repeated failures; wait longer
/// for `status-not-available`, `out-of-resources` and `timeout`; give up on a writer for
/// `non-retryable` and `not-responding`.
public struct RetryPolicy: Sendable, Hashable {
    /// How many attempts may follow the first.
    public var maxRetries: Int
    /// The first pause; doubled at each retry, four times as long for the wait-longer codes.
    public var delay: Duration
    /// After this many `retryable` failures of one writer, its service is restarted.
    public var restartAfter: Int

    /// Creates a policy.
    public init(maxRetries: Int = 3, delay: Duration = .seconds(10), restartAfter: Int = 2) {
        self.maxRetries = maxRetries
        self.delay = delay
        self.restartAfter = restartAfter
    }

    /// Decides what to do about `status`, a writer that failed attempt `attempt` (1 for the
    /// first), given how often it failed `retryable` so far and whether it was restarted.
    public func decide(
        _ status: WriterStatus,
        metadata: WriterMetadata?,
        volumes: [String],
        attempt: Int,
        retryableFailures: Int,
        restarted: Bool
    ) -> RetryDecision {
        let failure = effectiveFailure(status)
        let backoff = backoff(attempt: attempt)
        func decision(_ action: RetryAction, _ reason: String) -> RetryDecision {
            RetryDecision(writer: status.name, failure: failure, action: action, reason: reason)
        }
        switch failure {
        case .inconsistentSnapshot:
            let missing = missingVolumes(metadata, volumes)
            if missing.isEmpty {
                return decision(.giveUp, "the writer says the snapshot set lacks volumes, but every file it declares is in the set")
            }
            return decision(.addVolumes(missing), "the snapshot set lacks volumes the writer needs: adding \(missing.joined(separator: ", ")) and retrying")
        case .retryable:
            if restarted {
                return decision(.giveUp, "it failed again after its service was restarted")
            }
            if retryableFailures >= restartAfter {
                return decision(.restartWriter, "\(retryableFailures) retryable failures: restarting its service, then trying once more")
            }
            return decision(.retry(after: backoff), "a transient failure: retrying unchanged in \(backoff)")
        case .statusNotAvailable, .outOfResources, .timeout:
            let longer = backoff * 4
            return decision(.retry(after: longer), "the system is busy: waiting longer (\(longer)) before retrying")
        case .nonRetryable, .notResponding, .recoveryFailed, .partialFailure:
            return decision(.giveUp, "the failure would recur: giving up on this writer")
        }
    }

    /// The pause after attempt `attempt` (1 for the first): ``delay``, doubled at each retry.
    public func backoff(attempt: Int) -> Duration {
        delay * (1 << min(max(attempt - 1, 0), 10))
    }

    /// For a partial failure, the code of the first failed component decides.
    private func effectiveFailure(_ status: WriterStatus) -> FailureCode {
        let code = status.failure ?? .nonRetryable
        guard code == .partialFailure, let component = status.components.first(where: { $0.failure != nil })?.failure else { return code }
        return component.code == .partialFailure ? .nonRetryable : component.code
    }

    /// The directories of the writer's files that lie on no volume of the set.
    private func missingVolumes(_ metadata: WriterMetadata?, _ volumes: [String]) -> [String] {
        let paths = (metadata?.components ?? []).flatMap(\.files).map(\.path)
        var missing: [String] = []
        for path in paths where !volumes.contains(where: { PathRules.contains($0, path) }) && !missing.contains(path) {
            missing.append(path)
        }
        return missing
    }
}
