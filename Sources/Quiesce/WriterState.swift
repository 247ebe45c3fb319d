/// The state of a writer in a session, as VSS's `VSS_WRITER_STATE` with readable names.
public enum WriterState: String, Codable, Sendable, CaseIterable {
    case unknown
    case stable
    case waitingForFreeze = "waiting-for-freeze"
    case waitingForThaw = "waiting-for-thaw"
    case waitingForPostSnapshot = "waiting-for-post-snapshot"
    case waitingForBackupComplete = "waiting-for-backup-complete"
    /// Between PreRestore and PostRestore: the writer has stopped what the restore replaces
    /// (not a VSS state; it shows an admin that the application waits for its files).
    case waitingForPostRestore = "waiting-for-post-restore"
    case failedAtIdentify = "failed-at-identify"
    case failedAtPrepareBackup = "failed-at-prepare-backup"
    case failedAtPrepareSnapshot = "failed-at-prepare-snapshot"
    case failedAtFreeze = "failed-at-freeze"
    case failedAtThaw = "failed-at-thaw"
    case failedAtPostSnapshot = "failed-at-post-snapshot"
    case failedAtBackupComplete = "failed-at-backup-complete"
    case failedAtPreRestore = "failed-at-pre-restore"
    case failedAtPostRestore = "failed-at-post-restore"
    case failedAtBackupShutdown = "failed-at-backup-shutdown"

    /// Whether this is one of the `failed-at-…` states.
    public var isFailed: Bool { rawValue.hasPrefix("failed-at-") }
}
