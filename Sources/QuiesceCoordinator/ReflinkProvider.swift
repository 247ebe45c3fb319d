import Glibc
import Quiesce
import QuiesceFiles

/// reflink: a copy of each volume on its own filesystem (`<mount>/.quiesce-snapshots/<set>/<n>`)
/// in which every file shares its extents with the original (`FICLONE`: XFS with reflink,
/// btrfs). Its cost grows with the number of files, not with their size; a file the filesystem
/// will not share fails the snapshot instead of being copied byte by byte.
public struct ReflinkProvider: SnapshotProvider {
    /// `reflink`.
    public let name = "reflink"
    public let summary = "a copy sharing every file's extents (XFS, btrfs); cost grows with the number of files, not their size"
    public let instant = SnapshotInstant.none
    public let unavailableReason: String? = nil

    /// Creates the provider.
    public init() {}

    public func refusal(for volume: VolumeInfo, requested: Bool) async -> String? {
        guard ["xfs", "btrfs", "ocfs2", "bcachefs"].contains(volume.filesystem) else { return "\(volume.filesystem) cannot share extents" }
        do {
            guard try SnapshotPlace.open(on: volume.mountPoint).canShareExtents() else {
                return "this \(volume.filesystem) filesystem does not share extents (an XFS made without reflink?)"
            }
        } catch {
            return "\(error)"
        }
        return nil
    }

    public func createSnapshots(_ request: SnapshotRequest) async throws -> [String: String] {
        var sets: [String: DirectoryHandle] = [:]
        var snapshots: [String: String] = [:]
        for (index, volume) in request.volumes.enumerated() {
            if sets[volume.mountPoint] == nil {
                sets[volume.mountPoint] = try await SnapshotPlace.makeSet(on: volume.mountPoint, setId: request.setId, record: request.record)
            }
            let set = sets[volume.mountPoint]!
            let name = FileName("\(index)")!
            try set.makeDirectory(name)
            let started = ContinuousClock.now
            let copy = TreeCopy(requiresSharing: true, excluding: volume.isMountPoint ? [SnapshotPlace.directoryName] : [])
            let summary = try await copy.copyContents(of: try DirectoryHandle.open(absolute: volume.path), into: try set.openDirectory(name)) { progress in
                request.progress("sharing the extents of \(volume.path): \(progress.entries) entries so far")
            }
            request.progress("reflinked \(volume.path): \(summary.entries) entries, \(summary.clonedBytes >> 20) MiB shared, in \(ContinuousClock.now - started)")
            snapshots[volume.path] = set.pathOf(name)
        }
        for set in sets.values { try SnapshotPlace.handOver(set, to: request.owner) }
        return snapshots
    }

    public func delete(_ item: String) async throws {
        try await BlockingWork.run { _ in try SnapshotPlace.remove(item) }
    }
}
