/// What a provider is asked to snapshot.
public struct SnapshotRequest: Sendable {
    /// The snapshot set's id.
    public var setId: String
    /// The volumes (absolute directory paths, checked by the session).
    public var volumes: [String]
    /// The uid that may read the snapshots besides root: the session's owner. Nobody else may.
    public var owner: UInt32
    /// Receives a line now and then while the snapshot is taken.
    public var progress: @Sendable (String) -> Void

    /// Creates a request.
    public init(setId: String, volumes: [String], owner: UInt32, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.setId = setId
        self.volumes = volumes
        self.owner = owner
        self.progress = progress
    }
}

/// Turns a set of volumes into a snapshot set. The coordinator calls ``createSnapshots(_:)``
/// while every writer is frozen, so it must be quick and must not wait on the writers.
public protocol SnapshotProvider: Sendable {
    /// The provider's name, as requesters choose it (`copy`, `btrfs`, ...).
    var name: String { get }

    /// Throws, saying why, when the provider cannot snapshot `volumes` (checked before any
    /// writer is asked to prepare).
    func check(_ volumes: [String]) throws

    /// Takes a snapshot of every volume; returns, by volume, the directory holding its snapshot.
    func createSnapshots(_ request: SnapshotRequest) async throws -> [String: String]

    /// Removes a snapshot set made by ``createSnapshots(_:)``.
    func deleteSnapshots(setId: String) async throws
}

extension SnapshotProvider {
    /// By default a provider takes any volume.
    public func check(_ volumes: [String]) throws {}
}
