/// What a volume path lives on, as the kernel says (`/proc/self/mountinfo`, `fstat`): a
/// snapshot is of a filesystem, and the volume is read as a path inside that snapshot.
public struct VolumeInfo: Codable, Sendable, Hashable {
    /// The volume as the requester gave it (absolute, normalized, no symlink in it).
    public var path: String
    /// Where its filesystem is mounted (the volume itself, or a directory above it).
    public var mountPoint: String
    /// The filesystem type: `btrfs`, `xfs`, `ext4`, ...
    public var filesystem: String
    /// What is mounted: a device such as `/dev/sda2`, or the filesystem's own name.
    public var source: String
    /// The filesystem's device number, `major:minor`.
    public var device: String
    /// The directory of the filesystem mounted at ``mountPoint`` (`/` unless a subdirectory or a
    /// btrfs subvolume is mounted, e.g. `/@home`).
    public var mountRoot: String

    /// Creates a description.
    public init(path: String, mountPoint: String, filesystem: String, source: String, device: String, mountRoot: String = "/") {
        self.path = path
        self.mountPoint = mountPoint
        self.filesystem = filesystem
        self.source = source
        self.device = device
        self.mountRoot = mountRoot
    }

    /// The volume's path relative to its mount point (empty when it is the mount point).
    public var pathInMount: String { PathRules.relative(path, to: mountPoint) }

    /// Whether the volume is a mount point itself.
    public var isMountPoint: Bool { path == mountPoint }
}
