import Quiesce

/// A provider that takes no snapshot: DoSnapshotSet runs every writer event and returns at once.
/// For benchmarks of the event path, and for writers whose data is copied out while frozen by
/// other means. Its snapshot paths are empty. Used only when a requester names it.
public struct NullProvider: SnapshotProvider {
    /// `null`.
    public let name = "null"
    public let summary = "no snapshot (benchmarks of the event path); only when named"
    public let instant = SnapshotInstant.none
    public let unavailableReason: String? = nil

    /// Creates the provider.
    public init() {}

    public func refusal(for volume: VolumeInfo, requested: Bool) async -> String? {
        requested ? nil : "takes no snapshot, so it serves only when named"
    }

    public func createSnapshots(_ request: SnapshotRequest) async throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: request.volumes.map { ($0.path, "") })
    }

    public func delete(_ item: String) async throws {}
}
