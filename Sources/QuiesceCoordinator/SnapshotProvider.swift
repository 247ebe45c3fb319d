/// Turns a set of volumes into a snapshot set. The coordinator calls ``createSnapshots(of:setId:)``
/// while every writer is frozen, so it must be quick and must not wait on the writers.
public protocol SnapshotProvider: Sendable {
    /// The provider's name, as requesters choose it (`copy`, `btrfs`, ...).
    var name: String { get }

    /// Takes a snapshot of every volume; returns, by volume, the directory holding its snapshot.
    func createSnapshots(of volumes: [String], setId: String) async throws -> [String: String]

    /// Removes a snapshot set made by ``createSnapshots(of:setId:)``.
    func deleteSnapshots(setId: String) async throws
}
