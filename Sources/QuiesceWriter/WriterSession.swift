import Quiesce

/// What a handler knows about the session whose event it handles.
public struct WriterSession: Sendable, Hashable {
    /// The session id: distinguishes concurrent sessions.
    public var id: String
    /// The kind of backup.
    public var backupType: BackupType
    /// Full paths of the writer's components the requester selected.
    public var selectedComponents: [String]
    /// The snapshot set being created, once DoSnapshotSet started.
    public var snapshotSetId: String?
    /// The volumes (absolute directory paths) in the snapshot set.
    public var volumes: [String]
    /// BackupComplete and PostRestore: whether the requester's copy succeeded.
    public var backupSucceeded: Bool?
    /// Restore events: the backup metadata the writer stored, by component.
    public var backupMetadata: [String: String] = [:]
    /// Restore events: the restore metadata the writer stored, by component.
    public var restoreMetadata: [String: String] = [:]

    /// Creates session information.
    public init(
        id: String,
        backupType: BackupType = .full,
        selectedComponents: [String] = [],
        snapshotSetId: String? = nil,
        volumes: [String] = [],
        backupSucceeded: Bool? = nil
    ) {
        self.id = id
        self.backupType = backupType
        self.selectedComponents = selectedComponents
        self.snapshotSetId = snapshotSetId
        self.volumes = volumes
        self.backupSucceeded = backupSucceeded
    }

    /// Whether `path` lies on a volume of the snapshot set (VSS's IsPathAffected).
    public func isPathAffected(_ path: String) -> Bool {
        volumes.contains { PathRules.contains($0, path) }
    }

    /// The paths among `paths` that lie on no volume of the snapshot set. A writer whose files
    /// are split over volumes vetoes with `inconsistent-snapshot` when this is not empty.
    public func pathsOutsideSnapshotSet(_ paths: [String]) -> [String] {
        paths.filter { !isPathAffected($0) }
    }
}
