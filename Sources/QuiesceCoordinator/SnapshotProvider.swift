import Quiesce

/// What a provider is asked to snapshot.
public struct SnapshotRequest: Sendable {
    /// The snapshot set's id.
    public var setId: String
    /// The volumes, resolved (checked by the session).
    public var volumes: [VolumeInfo]
    /// The uid that may read the snapshots besides root: the session's owner. Nobody else may.
    public var owner: UInt32
    /// How long writes may be held: the write-hold limit, or the shortest freeze lease of the
    /// frozen writers if that is shorter. A provider that freezes a filesystem thaws it by then.
    public var holdLimit: Duration
    /// Receives a line now and then while the snapshot is taken.
    public var progress: @Sendable (String) -> Void
    /// Writes down something the provider is about to make (a directory, a snapshot, a device),
    /// before it makes it: the set's ledger, from which everything is removed when the set is
    /// deleted, or when quiesced starts after being killed.
    public var record: @Sendable (String) async throws -> Void

    /// Creates a request.
    public init(
        setId: String, volumes: [VolumeInfo], owner: UInt32, holdLimit: Duration = .seconds(10),
        progress: @escaping @Sendable (String) -> Void = { _ in },
        record: @escaping @Sendable (String) async throws -> Void = { _ in }
    ) {
        self.setId = setId
        self.volumes = volumes
        self.owner = owner
        self.holdLimit = holdLimit
        self.progress = progress
        self.record = record
    }
}

/// Whether a provider's snapshots are each one instant in time.
public enum SnapshotInstant: Sendable {
    /// Each volume's snapshot is one instant (a btrfs snapshot, a device snapshot).
    case perVolume
    /// All the volumes it takes in a set are one instant together (filesystems frozen at once).
    case acrossVolumes
    /// Files are copied one after another while applications may write (copy, reflink).
    case none
}

/// Turns volumes into a point-in-time snapshot, as a VSS provider does. The coordinator picks one
/// provider per volume (or the one a requester names) and calls ``createSnapshots(_:)`` while
/// every writer is frozen, under the write-hold limit: it must be quick and must not wait on
/// the writers.
public protocol SnapshotProvider: Sendable {
    /// The provider's name, as requesters choose it (`btrfs`, `reflink`, `copy`, ...).
    var name: String { get }
    /// What it does, in a few words (for `quiescectl providers`).
    var summary: String { get }
    /// Whether its snapshots are one instant in time, per volume or across the volumes (sent
    /// to writers as `snapshot-groups`, so that they know whether a backup mode is needed).
    var instant: SnapshotInstant { get }
    /// Why it cannot serve on this machine at all; `nil` when it can.
    var unavailableReason: String? { get }
    /// Why it cannot snapshot `volume`; `nil` when it can. `requested`: a requester named it
    /// (a provider kept for small data or tests serves other volumes only then).
    func refusal(for volume: VolumeInfo, requested: Bool) async -> String?
    /// Takes a snapshot of every volume; returns, by volume path, where its snapshot is read.
    func createSnapshots(_ request: SnapshotRequest) async throws -> [String: String]
    /// Removes one thing the provider recorded while it made a snapshot set.
    func delete(_ item: String) async throws
}
