import QuiesceWriter

/// A hook's first argument is its event's kebab-case name (``WriterEvent/kebabCaseName``):
/// `freeze` and `thaw` as qemu-guest-agent's fsfreeze hooks get them, then
/// `prepare-for-snapshot` and the others.
enum HookEvent {
    /// Every argument a hook may get (Identify runs no hook).
    static let arguments = WriterEvent.allCases.filter { $0 != .identify }.map(\.kebabCaseName)

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
