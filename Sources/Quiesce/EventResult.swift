/// What a writer answers to an event: the `result` dictionary of every `org.quiesce.Writer1`
/// event method.
public struct EventResult: Sendable, Hashable {
    /// The writer's state for the session after the event.
    public var state: WriterState
    /// Why the event failed; `nil` on success.
    public var failure: FailureCode?
    /// The writer's explanation of the failure.
    public var message: String
    /// How long the handler ran, in microseconds.
    public var durationMicroseconds: UInt64

    /// Creates a result.
    public init(state: WriterState, failure: FailureCode? = nil, message: String = "", durationMicroseconds: UInt64 = 0) {
        self.state = state
        self.failure = failure
        self.message = message
        self.durationMicroseconds = durationMicroseconds
    }

    /// The keys of the result dictionary.
    public enum Key {
        /// `s`: the state.
        public static let state = "state"
        /// `s`: the failure code, empty on success.
        public static let failure = "failure"
        /// `s`: the failure message.
        public static let message = "message"
        /// `t`: the handler's duration in microseconds.
        public static let durationMicroseconds = "duration-us"
        /// `a{sa{sv}}`: per component full path, what the writer reported: `failure-message-<Event>`
        /// (s), `backup-metadata` (s), `restore-metadata` (s), `failure` (s), `application-error`
        /// (i), `failure-text` (s).
        public static let components = "components"
    }
}

/// The keys of the options dictionary the coordinator sends with every writer event.
public enum EventOptionKey {
    /// `s`: the backup type.
    public static let backupType = "backup-type"
    /// `as`: full paths of the writer's selected components.
    public static let components = "components"
    /// `s`: the snapshot set id.
    public static let snapshotSetId = "snapshot-set-id"
    /// `as`: the volumes in the snapshot set.
    public static let volumes = "volumes"
    /// `u`: Freeze only; milliseconds after which the writer thaws itself.
    public static let leaseMilliseconds = "lease-ms"
    /// `b`: BackupComplete and PostRestore; whether the requester's copy succeeded.
    public static let succeeded = "succeeded"
    /// `a{ss}`: restore events; per component, the backup metadata stored with the backup.
    public static let backupMetadata = "backup-metadata"
    /// `a{ss}`: restore events; per component, the restore metadata stored with the backup.
    public static let restoreMetadata = "restore-metadata"
    /// `s`: restore events; `original` (the volumes themselves) or `alternate` (elsewhere).
    public static let restoreTarget = "restore-target"
    /// `a{ss}`: restore events with the `alternate` target; per volume, where it is restored.
    public static let alternateLocations = "alternate-locations"
}
