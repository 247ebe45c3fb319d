/// An event the coordinator sends to writers; each is one method of `org.quiesce.Writer1`.
public enum WriterEvent: String, Codable, Sendable, CaseIterable {
    case identify = "Identify"
    case prepareForBackup = "PrepareForBackup"
    case prepareForSnapshot = "PrepareForSnapshot"
    case freeze = "Freeze"
    case thaw = "Thaw"
    case postSnapshot = "PostSnapshot"
    case abort = "Abort"
    case backupComplete = "BackupComplete"
    case backupShutdown = "BackupShutdown"
    case preRestore = "PreRestore"
    case postRestore = "PostRestore"

    /// The D-Bus method name of the event.
    public var methodName: String { rawValue }

    /// The method name in kebab case: `freeze`, `prepare-for-snapshot` (the argument
    /// quiesce-hook-writer gives hooks, qemu-guest-agent's `freeze` and `thaw` among them).
    public var kebabCaseName: String {
        rawValue.unicodeScalars.reduce(into: "") { text, scalar in
            if ("A"..."Z").contains(scalar) { text += (text.isEmpty ? "" : "-") + String(scalar).lowercased() } else { text.unicodeScalars.append(scalar) }
        }
    }

    /// The writer's state after handling the event successfully (vss-semantics §2.2).
    /// `nil` for Abort and BackupShutdown, which leave a failed state as it was (so an admin
    /// sees the last failure until the next session, as with VSS) and otherwise return to stable.
    public var stateOnSuccess: WriterState? {
        switch self {
        case .identify, .prepareForBackup, .backupComplete, .postRestore: .stable
        case .preRestore: .waitingForPostRestore
        case .prepareForSnapshot: .waitingForFreeze
        case .freeze: .waitingForThaw
        case .thaw: .waitingForPostSnapshot
        case .postSnapshot: .waitingForBackupComplete
        case .abort, .backupShutdown: nil
        }
    }

    /// The writer's state after failing (vetoing) the event.
    public var stateOnFailure: WriterState {
        switch self {
        case .identify: .failedAtIdentify
        case .prepareForBackup: .failedAtPrepareBackup
        case .prepareForSnapshot: .failedAtPrepareSnapshot
        case .freeze: .failedAtFreeze
        case .thaw: .failedAtThaw
        case .postSnapshot: .failedAtPostSnapshot
        case .abort: .failedAtFreeze
        case .backupComplete: .failedAtBackupComplete
        case .backupShutdown: .failedAtBackupShutdown
        case .preRestore: .failedAtPreRestore
        case .postRestore: .failedAtPostRestore
        }
    }

    /// The state that follows `current` after this event, given whether it succeeded.
    public func nextState(from current: WriterState, succeeded: Bool) -> WriterState {
        guard succeeded else { return stateOnFailure }
        if let state = stateOnSuccess { return state }
        return current.isFailed ? current : .stable
    }

}
