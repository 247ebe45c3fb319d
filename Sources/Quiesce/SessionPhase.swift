/// Where a backup or restore session is in its sequence (the session's `Phase` property).
public enum SessionPhase: String, Codable, Sendable, CaseIterable {
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

/// A step a requester asks of a session: the `org.quiesce.Session1` methods that move it
/// through its sequence, with the phases each is allowed in and the phase it leads to. Any
/// other step is `BadState` and changes nothing.
public enum SessionStep: String, Sendable, CaseIterable {
    case gatherWriterMetadata = "GatherWriterMetadata"
    case addVolumes = "AddVolumes"
    case selectComponents = "SelectComponents"
    case setWriterPolicy = "SetWriterPolicy"
    case prepareForBackup = "PrepareForBackup"
    case doSnapshotSet = "DoSnapshotSet"
    case backupComplete = "BackupComplete"
    case abortBackup = "AbortBackup"
    case preRestore = "PreRestore"
    case postRestore = "PostRestore"
    case keepSnapshotSet = "KeepSnapshotSet"

    /// The phases in which the step may be taken.
    public var allowedIn: Set<SessionPhase> {
        switch self {
        case .gatherWriterMetadata, .addVolumes: [.created, .metadataGathered]
        case .selectComponents, .setWriterPolicy, .prepareForBackup, .preRestore: [.metadataGathered]
        case .doSnapshotSet: [.prepared]
        case .backupComplete: [.snapshotDone]
        case .abortBackup: [.created, .metadataGathered, .prepared, .snapshotDone, .failed]
        case .postRestore: [.restoring]
        case .keepSnapshotSet: [.snapshotDone, .backupComplete]
        }
    }

    /// The phase once the step has succeeded; `nil` leaves it as it was. (A step that fails a
    /// required writer or the snapshot leads to `failed` instead.)
    public var phaseOnSuccess: SessionPhase? {
        switch self {
        case .gatherWriterMetadata: .metadataGathered
        case .addVolumes, .selectComponents, .setWriterPolicy, .keepSnapshotSet: nil
        case .prepareForBackup: .prepared
        case .doSnapshotSet: .snapshotDone
        case .backupComplete: .backupComplete
        case .abortBackup: .aborted
        case .preRestore: .restoring
        case .postRestore: .restored
        }
    }
}
