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
    /// From PrepareForSnapshot: per volume whose snapshot is one instant, its group; volumes of
    /// one group are captured at the same instant. A volume not listed is copied over time.
    public var snapshotGroups: [String: String] = [:]
    /// BackupComplete and PostRestore: whether the requester's copy succeeded.
    public var backupSucceeded: Bool?
    /// Restore events: the backup metadata the writer stored, by component.
    public var backupMetadata: [String: String] = [:]
    /// Restore events: the restore metadata the writer stored, by component.
    public var restoreMetadata: [String: String] = [:]
    /// Restore events: whether the files go back over the volumes (`original`) or elsewhere
    /// (`alternate`: the live data is not touched, so there is nothing to stop).
    public var restoreTarget: RestoreTarget = .original
    /// Restore events to an alternate location: per volume, where it is restored.
    public var alternateLocations: [String: String] = [:]

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

    /// Where the restore puts the file or directory `path`: `path` itself for an original
    /// restore, else its place below the alternate location of its volume.
    public func restoredPath(of path: String) -> String {
        guard let volume = alternateLocations.keys.filter({ PathRules.contains($0, path) }).max(by: { $0.utf8.count < $1.utf8.count }) else { return path }
        return alternateLocations[volume]! + String(decoding: path.utf8.dropFirst(volume == "/" ? 0 : volume.utf8.count), as: UTF8.self)
    }

    /// Whether the snapshot holds every one of `paths` as of one instant: they lie on volumes of
    /// one snapshot group. Then the files are as after a power cut (crash-consistent together),
    /// and an application that recovers from a crash needs no backup mode.
    public func isOneInstant(_ paths: [String]) -> Bool {
        let groups = paths.map { path in volumes.filter { PathRules.contains($0, path) }.max { $0.utf8.count < $1.utf8.count }.flatMap { snapshotGroups[$0] } }
        guard let first = groups.first, let group = first else { return false }
        return groups.allSatisfy { $0 == group }
    }

    /// The paths among `paths` that lie on no volume of the snapshot set. A writer whose files
    /// are split over volumes vetoes with `inconsistent-snapshot` when this is not empty.
    public func pathsOutsideSnapshotSet(_ paths: [String]) -> [String] {
        paths.filter { !isPathAffected($0) }
    }
}
