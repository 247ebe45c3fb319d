import Glibc
import Quiesce
import QuiesceFiles

/// The fallback provider: copies each volume into the snapshot set while the writers stay
/// frozen, reflinking where the filesystem can and copying bytes elsewhere. Chosen by itself
/// only for volumes under ``sizeLimit``, or when a requester names it; the copy must finish
/// within the write-hold limit like any provider's work.
///
/// Permissions: the snapshot root is `0711` and owned by root (nobody can list it); each set is
/// a `0700` directory that belongs to root while it is copied and to the session's owner
/// afterwards, so the files in it keep the protection their volume's parents gave them.
public struct CopyProvider: SnapshotProvider {
    /// `copy`.
    public let name = "copy"
    public let summary = "copies each volume while the writers stay frozen (small data, the demo)"
    /// File by file: only writers that hold their writes while frozen are consistent in it.
    public let instant = SnapshotInstant.none
    public let unavailableReason: String? = nil
    /// The directory below which snapshot sets are made, one directory per set.
    public let root: String
    /// The largest volume (bytes of file data) the provider serves when nobody named it.
    public let sizeLimit: Int64

    /// Creates a provider that puts snapshot sets below `root`.
    public init(root: String, sizeLimit: Int64 = 256 << 20) {
        self.root = root
        self.sizeLimit = sizeLimit
    }

    /// The mode of the snapshot root: others may pass through to their own set, not list.
    static let rootMode: mode_t = 0o711

    /// Makes the snapshot root if it is missing (its parents `0755`) and gives it its mode.
    /// Refuses a root reached through a symlink or owned by another user.
    public func prepareRoot() throws {
        guard let slash = root.lastIndex(of: "/"), let name = FileName(String(root[root.index(after: slash)...])) else {
            throw FileError("use", root, reason: "the snapshot root must be an absolute directory below /")
        }
        let parent = slash == root.startIndex ? "/" : String(root[..<slash])
        _ = try DirectoryHandle.make(absolute: parent, mode: 0o755, parentMode: 0o755).0.openOwnDirectory(name, mode: Self.rootMode)
    }

    public func refusal(for volume: VolumeInfo, requested: Bool) async -> String? {
        guard let rootDevice = try? DirectoryHandle.open(absolute: root).status().device,
            let directory = try? DirectoryHandle.open(absolute: volume.path)
        else { return "the volume or the snapshot root \(root) cannot be opened" }
        if PathRules.contains(volume.path, root), (try? directory.status().device) == rootDevice {
            return "it holds the snapshot root \(root) on the same filesystem; back up a directory below it, or give quiesced a --snapshot-root on another filesystem"
        }
        guard !requested else { return nil }
        guard let tooLarge = try? await TreeSize.exceeds(sizeLimit, in: directory) else { return "its size cannot be measured" }
        return tooLarge ? "it holds more than the copy limit of \(Self.megabytes(sizeLimit)) (name --provider copy to copy it anyway, within the write-hold limit)" : nil
    }

    public func createSnapshots(_ request: SnapshotRequest) async throws -> [String: String] {
        let rootHandle = try DirectoryHandle.open(absolute: root)
        let setName = try Self.setName(request.setId)
        try await request.record(rootHandle.pathOf(setName))
        try rootHandle.makeDirectory(setName, mode: 0o700)
        let set = try rootHandle.openDirectory(setName)
        var snapshots: [String: String] = [:]
        for (index, volume) in request.volumes.enumerated() {
            let base = volume.path == "/" ? "root" : String(volume.path.split(separator: "/").last!)
            let name = FileName("\(index)-\(base)")!
            try set.makeDirectory(name)
            let source = try DirectoryHandle.open(absolute: volume.path)
            request.progress("copying \(volume.path) (the writers stay frozen while it copies)")
            let started = ContinuousClock.now
            let summary = try await TreeCopy().copyContents(of: source, into: try set.openDirectory(name)) { progress in
                request.progress("copying \(volume.path): \(progress.entries) entries, \(Self.megabytes(progress.bytes)) so far")
            }
            request.progress(
                "copied \(volume.path): \(summary.entries) entries, \(Self.megabytes(summary.bytes))"
                    + (summary.clonedBytes > 0 ? " (\(Self.megabytes(summary.clonedBytes)) shared by reflink)" : "")
                    + " in \(ContinuousClock.now - started)"
            )
            for mount in summary.skippedMountPoints {
                request.progress("left out \(mount): another filesystem is mounted there (add it as a volume of its own)")
            }
            snapshots[volume.path] = set.pathOf(name)
        }
        // Only now, with nothing more to write, does the set become the session owner's.
        guard fchown(set.descriptor, request.owner, 0) == 0 else { throw FileError("give", set.path) }
        return snapshots
    }

    public func delete(_ item: String) async throws {
        try await BlockingWork.run { _ in try SnapshotPlace.remove(item) }
    }

    private static func setName(_ id: String) throws -> FileName {
        guard let name = FileName(id), !id.hasPrefix(".") else { throw FileError("use", id, reason: "not a snapshot set id") }
        return name
    }

    static func megabytes(_ bytes: Int64) -> String {
        bytes < 1 << 20 ? "\(bytes) bytes" : "\(bytes >> 20) MiB"
    }
}
