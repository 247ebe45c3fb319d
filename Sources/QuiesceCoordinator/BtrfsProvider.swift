import Glibc
import Quiesce
import QuiesceBtrfs
import QuiesceFiles

/// btrfs: a read-only snapshot of the subvolume holding each volume, made through libbtrfsutil
/// on the volume's own filesystem (`<mount>/.quiesce-snapshots/<set>/<n>`). Its cost does not
/// depend on the amount of data. The volume is read at its place inside the snapshot.
public struct BtrfsProvider: SnapshotProvider {
    /// `btrfs`.
    public let name = "btrfs"
    public let summary = "a read-only snapshot of the subvolume holding each volume (libbtrfsutil); constant cost"
    public let instant = SnapshotInstant.perVolume

    /// Creates the provider.
    public init() {}

    public var unavailableReason: String? {
        geteuid() == 0 ? nil : "creating and deleting snapshots needs root (CAP_SYS_ADMIN)"
    }

    public func refusal(for volume: VolumeInfo, requested: Bool) async -> String? {
        guard volume.filesystem == "btrfs" else { return "not on btrfs (\(volume.filesystem))" }
        guard (try? Self.subvolumeRoot(of: volume)) != nil else { return "the subvolume holding it is not visible below its mount point \(volume.mountPoint)" }
        return nil
    }

    public func createSnapshots(_ request: SnapshotRequest) async throws -> [String: String] {
        var sets: [String: DirectoryHandle] = [:]
        var made: [String: String] = [:]  // subvolume root → its snapshot
        var snapshots: [String: String] = [:]
        for volume in request.volumes {
            guard let subvolume = try Self.subvolumeRoot(of: volume) else {
                throw FileError("snapshot", volume.path, reason: "the subvolume holding it is not visible below \(volume.mountPoint)")
            }
            if made[subvolume] == nil {
                if sets[volume.mountPoint] == nil {
                    sets[volume.mountPoint] = try await SnapshotPlace.makeSet(on: volume.mountPoint, setId: request.setId, record: request.record)
                }
                let set = sets[volume.mountPoint]!
                let name = "\(made.count)"
                try await request.record(set.pathOf(name))
                let started = ContinuousClock.now
                let source = try DirectoryHandle.open(absolute: subvolume)
                try withExtendedLifetime(source) {
                    try Subvolumes.snapshot(source.descriptor, into: set.descriptor, named: name, describedAs: set.pathOf(name))
                }
                request.progress("snapshot of the subvolume \(subvolume) at \(set.pathOf(name)) in \(ContinuousClock.now - started)")
                made[subvolume] = set.pathOf(name)
            }
            let inside = PathRules.relative(volume.path, to: subvolume)
            snapshots[volume.path] = made[subvolume]! + (inside.isEmpty ? "" : "/" + inside)
        }
        for set in sets.values { try SnapshotPlace.handOver(set, to: request.owner) }
        return snapshots
    }

    public func delete(_ item: String) async throws {
        try SnapshotPlace.remove(item) { parent, name in
            guard let entry = try? parent.openDirectory(name), withExtendedLifetime(entry, { Subvolumes.isSubvolume(entry.descriptor) }) else { return false }
            try Subvolumes.delete(name.description, in: parent.descriptor, describedAs: parent.pathOf(name))
            return true
        }
    }

    /// The root of the subvolume holding the volume: the volume or the nearest directory above
    /// it, up to its mount point, that is a subvolume.
    static func subvolumeRoot(of volume: VolumeInfo) throws -> String? {
        var path = volume.path
        while true {
            let directory = try DirectoryHandle.open(absolute: path)
            if withExtendedLifetime(directory, { Subvolumes.isSubvolume(directory.descriptor) }) { return path }
            guard path != volume.mountPoint, path != "/", let slash = path.lastIndex(of: "/") else { return nil }
            path = slash == path.startIndex ? "/" : String(path[..<slash])
        }
    }
}
