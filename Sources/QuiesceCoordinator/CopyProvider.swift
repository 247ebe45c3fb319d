import Glibc
import Quiesce
import QuiesceFiles

/// The embedded default provider: copies each volume directory into the snapshot set,
/// reflinking where the filesystem can (btrfs, XFS) and copying bytes elsewhere.
///
/// It works on any filesystem, but writes stay held for as long as the copy takes: use it
/// for small volumes, or a filesystem that reflinks. The copy stays on each volume's
/// filesystem (mount points below a volume are left empty) and follows no symlink.
///
/// Permissions: the snapshot root is `0711` and owned by root (nobody can list it); each set is
/// a `0700` directory that belongs to root while it is copied and to the session's owner
/// afterwards, so the files in it keep the protection their volume's parents gave them.
public struct CopyProvider: SnapshotProvider {
    /// `copy`.
    public let name = "copy"
    /// The directory below which snapshot sets are made, one directory per set.
    public let root: String

    /// Creates a provider that puts snapshot sets below `root`.
    public init(root: String) {
        self.root = root
    }

    /// The mode of the snapshot root: others may pass through to their own set, not list.
    static let rootMode: mode_t = 0o711

    /// Makes the snapshot root if it is missing (its parents `0755`) and gives it its mode.
    /// Refuses a root reached through a symlink or owned by another user.
    public func prepareRoot() throws {
        var path = ""
        for element in root.split(separator: "/") {
            let parent = try DirectoryHandle.open(absolute: path.isEmpty ? "/" : path)
            path += "/" + element
            let name = FileName(String(element))!
            if try parent.status(name) == nil {
                try parent.makeDirectory(name, mode: path == root ? Self.rootMode : 0o755)
            }
        }
        let handle = try DirectoryHandle.open(absolute: root)
        let status = try handle.status()
        guard status.uid == geteuid() else { throw FileError("use", root, reason: "it belongs to uid \(status.uid), not to quiesced's user") }
        if status.permissions != Self.rootMode, fchmod(handle.descriptor, Self.rootMode) != 0 { throw FileError("set the mode of", root) }
    }

    /// Refuses a volume that holds the snapshot root on its own filesystem: the copy would copy
    /// itself.
    public func check(_ volumes: [String]) throws {
        let rootDevice = try DirectoryHandle.open(absolute: root).status().device
        for volume in volumes where PathRules.contains(volume, root) {
            if try DirectoryHandle.open(absolute: volume).status().device == rootDevice {
                throw FileError("copy", volume, reason: "it holds the snapshot root \(root) on the same filesystem; back up a directory below it, or give quiesced a --snapshot-root on another filesystem")
            }
        }
    }

    public func createSnapshots(_ request: SnapshotRequest) async throws -> [String: String] {
        let rootHandle = try DirectoryHandle.open(absolute: root)
        let setName = try Self.setName(request.setId)
        try rootHandle.makeDirectory(setName, mode: 0o700)
        var snapshots: [String: String] = [:]
        do {
            let set = try rootHandle.openDirectory(setName)
            for (index, volume) in request.volumes.enumerated() {
                let base = volume == "/" ? "root" : String(volume.split(separator: "/").last!)
                let name = FileName("\(index)-\(base)")!
                try set.makeDirectory(name)
                let source = try DirectoryHandle.open(absolute: volume)
                let started = ContinuousClock.now
                let summary = try await TreeCopy().copyContents(of: source, into: try set.openDirectory(name)) { progress in
                    request.progress("copying \(volume): \(progress.entries) entries, \(Self.megabytes(progress.bytes)) so far")
                }
                request.progress(
                    "copied \(volume): \(summary.entries) entries, \(Self.megabytes(summary.bytes))"
                        + (summary.clonedBytes > 0 ? " (\(Self.megabytes(summary.clonedBytes)) shared by reflink)" : "")
                        + " in \(ContinuousClock.now - started)"
                )
                for mount in summary.skippedMountPoints {
                    request.progress("left out \(mount): another filesystem is mounted there (add it as a volume of its own)")
                }
                snapshots[volume] = set.pathOf(name)
            }
            // Only now, with nothing more to write, does the set become the session owner's.
            guard fchown(set.descriptor, request.owner, 0) == 0 else { throw FileError("give", set.path) }
        } catch {
            try? rootHandle.removeTree(setName)
            throw error
        }
        return snapshots
    }

    public func deleteSnapshots(setId: String) async throws {
        let rootHandle = try DirectoryHandle.open(absolute: root)
        let setName = try Self.setName(setId)
        try await Self.remove(setName, in: rootHandle)
    }

    /// Removes every snapshot set below the root (left by a quiesced that was killed); returns
    /// their names.
    public func removeLeftovers() async throws -> [String] {
        let rootHandle = try DirectoryHandle.open(absolute: root)
        let names = try rootHandle.entries()
        for name in names { try await Self.remove(name, in: rootHandle) }
        return names.map(\.description)
    }

    private static func remove(_ name: FileName, in directory: DirectoryHandle) async throws {
        try await BlockingWork.run { _ in try directory.removeTree(name) }
    }

    private static func setName(_ id: String) throws -> FileName {
        guard let name = FileName(id), !id.hasPrefix(".") else { throw FileError("use", id, reason: "not a snapshot set id") }
        return name
    }

    static func megabytes(_ bytes: Int64) -> String {
        bytes < 1 << 20 ? "\(bytes) bytes" : "\(bytes >> 20) MiB"
    }
}
