import Glibc

/// What another user may do with a path, judged by the mode bits of every directory on the way
/// (POSIX ACLs are not consulted: an ACL that grants more is not honoured, so the answer errs
/// on the side of "no"). Root may do everything.
public struct FileAccess: Sendable {
    /// The user.
    public var uid: UInt32
    /// The user's groups (primary and supplementary).
    public var groups: Set<UInt32>

    /// Describes a user.
    public init(uid: UInt32, groups: Set<UInt32>) {
        self.uid = uid
        self.groups = groups
    }

    /// Whether the user could list and read the directory `path` (search on every directory
    /// above it). The path is opened without following symlinks.
    public func canRead(directory path: String) throws -> Bool {
        try check(path, last: 0o5)
    }

    /// Whether the user could create and remove entries in the directory `path`.
    public func canWrite(directory path: String) throws -> Bool {
        try check(path, last: 0o3)
    }

    private func check(_ path: String, last bits: mode_t) throws -> Bool {
        guard uid != 0 else { return true }
        var prefix = ""
        let elements = path.utf8.split(separator: UInt8(ascii: "/"))  // by bytes, as the kernel splits
        var directory = try DirectoryHandle.open(absolute: "/")
        for element in elements {
            guard allows(try directory.status(), 0o1) else { return false }
            prefix += "/" + String(decoding: element, as: UTF8.self)
            directory = try DirectoryHandle.open(absolute: prefix)
        }
        return allows(try directory.status(), bits)
    }

    private func allows(_ status: FileStatus, _ bits: mode_t) -> Bool {
        let shift: mode_t = status.uid == uid ? 6 : groups.contains(status.gid) ? 3 : 0
        return (status.permissions >> shift) & bits == bits
    }
}
