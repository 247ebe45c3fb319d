import QuiesceWriter

/// The first argument a hook gets for each event: `freeze` and `thaw` as qemu-guest-agent's
/// fsfreeze hooks, the other events by their kebab-case names.
enum HookEvent {
    /// The argument of `event`: its kebab-case name (`freeze`, `thaw`, `prepare-for-snapshot`).
    static func argument(_ event: WriterEvent) -> String { event.kebabCaseName }

    /// Every argument a hook may get (Identify runs no hook).
    static let arguments = WriterEvent.allCases.filter { $0 != .identify }.map(argument)

    /// What a hook's exit status means (documented in docs/writers/hooks.md): 0 success,
    /// 75 (EX_TEMPFAIL) retryable, 73 (EX_CANTCREAT) out-of-resources, 65 (EX_DATAERR)
    /// inconsistent-snapshot, anything else (69 EX_UNAVAILABLE among them) non-retryable.
    static func failure(exitStatus: Int32) -> FailureCode? {
        switch exitStatus {
        case 0: nil
        case 75: .retryable
        case 73: .outOfResources
        case 65: .inconsistentSnapshot
        default: .nonRetryable
        }
    }
}
