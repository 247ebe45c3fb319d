import Glibc

/// What `fstatat` says about one entry, not following symlinks.
public struct FileStatus: Sendable {
    /// The kind of entry.
    public enum Kind: Sendable, Hashable {
        case directory, regular, symlink, other
    }

    /// The raw `stat` fields we use.
    public let mode: mode_t
    public let uid: uid_t
    public let gid: gid_t
    public let size: Int64
    public let links: UInt64
    public let device: UInt64
    public let inode: UInt64
    public let specialDevice: UInt64
    public let accessTime: timespec
    public let modificationTime: timespec

    init(_ raw: stat) {
        mode = raw.st_mode
        uid = raw.st_uid
        gid = raw.st_gid
        size = Int64(raw.st_size)
        links = UInt64(raw.st_nlink)
        device = UInt64(raw.st_dev)
        inode = UInt64(raw.st_ino)
        specialDevice = UInt64(raw.st_rdev)
        accessTime = raw.st_atim
        modificationTime = raw.st_mtim
    }

    /// The kind of entry.
    public var kind: Kind {
        switch mode & S_IFMT {
        case S_IFDIR: .directory
        case S_IFREG: .regular
        case S_IFLNK: .symlink
        default: .other
        }
    }

    /// The permission bits, with set-id and sticky bits.
    public var permissions: mode_t { mode & 0o7777 }
}
