/// A provider that takes no snapshot: DoSnapshotSet runs every writer event and returns at once.
/// For benchmarks of the event path, and for writers whose data is copied out while frozen by
/// other means. Its snapshot paths are empty.
public struct NullProvider: SnapshotProvider {
    /// `null`.
    public let name = "null"

    /// Creates the provider.
    public init() {}

    public func createSnapshots(_ request: SnapshotRequest) async throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: request.volumes.map { ($0, "") })
    }

    public func deleteSnapshots(setId: String) async throws {}
}
