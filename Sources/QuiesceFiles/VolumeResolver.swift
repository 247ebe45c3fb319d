import Glibc
import Quiesce

/// Why a path cannot be a volume, in words for the operator.
public struct VolumeRefusal: Error, CustomStringConvertible, Sendable {
    /// The reason.
    public var description: String
}

/// Turns a volume path into what it lives on: its mount, filesystem and device, from the
/// kernel (`fstat` on the directory opened without symlinks, and `/proc/self/mountinfo`).
public enum VolumeResolver {
    /// Filesystems with nothing to back up.
    public static let pseudoFilesystems: Set<String> = [
        "proc", "sysfs", "devtmpfs", "cgroup", "cgroup2", "debugfs", "securityfs", "tracefs", "bpf", "pstore", "efivarfs",
        "configfs", "fusectl", "devpts", "mqueue", "hugetlbfs", "autofs", "binfmt_misc", "nsfs", "rpc_pipefs", "selinuxfs",
    ]

    /// Filesystems served by another machine or a user-space process: a snapshot taken here is
    /// not point-in-time for them.
    public static func isRemoteOrUserSpace(_ filesystem: String) -> Bool {
        ["nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "9p", "afs", "lustre", "sshfs"].contains(filesystem)
            || filesystem.hasPrefix("fuse")
    }

    /// Resolves `path` (absolute and normalized); throws ``VolumeRefusal`` saying why it cannot
    /// be a volume.
    public static func resolve(_ path: String, in table: MountTable) throws -> VolumeInfo {
        let directory: DirectoryHandle
        do {
            directory = try DirectoryHandle.open(absolute: path)
        } catch let error as FileError {
            throw VolumeRefusal(description: "volume \(path) cannot be used: \(error.explanation)")
        }
        let device = Self.deviceNumber(try directory.status().device)
        // A path in a btrfs subvolume that is not mounted by itself has a device number of its
        // own: its mount is then the one above it (on btrfs).
        guard let mount = table.mount(holding: path, device: device) ?? table.mount(holding: path).flatMap({ $0.filesystem == "btrfs" ? $0 : nil }) else {
            throw VolumeRefusal(description: "volume \(path) cannot be used: no mount of its filesystem (device \(device)) holds it; is it hidden by another mount?")
        }
        if pseudoFilesystems.contains(mount.filesystem) {
            throw VolumeRefusal(description: "volume \(path) is on the pseudo filesystem \(mount.filesystem): it holds no data to back up")
        }
        if isRemoteOrUserSpace(mount.filesystem) {
            throw VolumeRefusal(
                description: "volume \(path) is on \(mount.filesystem), a network or user-space filesystem: no point-in-time snapshot of it can be taken here; back it up where it is served"
            )
        }
        return VolumeInfo(path: path, mountPoint: mount.mountPoint, filesystem: mount.filesystem, source: mount.source, device: mount.device, mountRoot: mount.root)
    }

    /// Checks a set of resolved volumes together: none inside another, no filesystem reached
    /// through two different mounts (it would be snapshotted twice), and no two paths that are
    /// different names to the kernel but one `String` to Swift (`é` and `e` + U+0301: every
    /// table keyed by volume path would mix them up).
    public static func checkSet(_ volumes: [VolumeInfo]) throws {
        for (index, volume) in volumes.enumerated() {
            if let twin = volumes[..<index].first(where: { $0.path == volume.path && !$0.path.utf8.elementsEqual(volume.path.utf8) }) {
                throw VolumeRefusal(
                    description: "volumes \(twin.path) and \(volume.path) differ only in how their accented letters are encoded (Unicode normalization); one set cannot hold both: back them up in two sets"
                )
            }
        }
        for volume in volumes {
            if let outer = volumes.first(where: { $0.path != volume.path && PathRules.contains($0.path, volume.path) }) {
                throw VolumeRefusal(description: "volume \(volume.path) lies inside volume \(outer.path): give only \(outer.path)")
            }
            if let twin = volumes.first(where: { $0.device == volume.device && $0.mountPoint != volume.mountPoint }) {
                throw VolumeRefusal(
                    description: "volumes \(twin.path) and \(volume.path) are on the same filesystem (device \(volume.device)) mounted twice, at \(twin.mountPoint) and \(volume.mountPoint): it would be snapshotted twice; give paths under one of the mounts"
                )
            }
        }
    }

    /// `major:minor` of a device number (glibc's encoding).
    static func deviceNumber(_ device: UInt64) -> String {
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
        let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
        return "\(major):\(minor)"
    }
}
