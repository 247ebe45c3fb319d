/// Where a backup session is in its sequence (the session's `Phase` property).
public enum SessionPhase: String, Sendable {
    case created
    case metadataGathered = "metadata-gathered"
    case prepared
    case snapshotDone = "snapshot-done"
    case backupComplete = "backup-complete"
    case restoring
    case restored
    case aborted
    case failed
    case closed
}
