internal import CBtrfsUtil
import Glibc

/// A libbtrfsutil call that failed.
public struct BtrfsError: Error, CustomStringConvertible, Sendable {
    /// What was being done.
    public var operation: String
    /// libbtrfsutil's explanation (with errno's where it has one).
    public var reason: String

    /// `cannot snapshot /srv/data: Could not create snapshot: Operation not permitted`.
    public var description: String { "cannot \(operation): \(reason)" }

    init(_ operation: String, _ error: btrfs_util_error) {
        self.operation = operation
        let text = String(cString: btrfs_util_strerror(error))
        self.reason = errno != 0 ? "\(text): \(String(cString: strerror(errno)))" : text
    }
}

/// btrfs subvolumes through libbtrfsutil (never the `btrfs` command), on open descriptors.
public enum Subvolumes {
    /// Whether the open directory `fd` is the root of a subvolume.
    public static func isSubvolume(_ fd: Int32) -> Bool {
        btrfs_util_is_subvolume_fd(fd) == BTRFS_UTIL_OK
    }

    /// Makes a read-only snapshot of the subvolume open as `source`, named `name` in the
    /// directory open as `parent` (on the same filesystem). Its cost does not depend on the
    /// amount of data.
    public static func snapshot(_ source: Int32, into parent: Int32, named name: String, describedAs path: String) throws(BtrfsError) {
        errno = 0
        let result = btrfs_util_create_snapshot_fd2(source, parent, name, Int32(BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY), nil, nil)
        guard result == BTRFS_UTIL_OK else { throw BtrfsError("snapshot into \(path)", result) }
    }

    /// Deletes the subvolume (or snapshot) `name` in the directory open as `parent`.
    public static func delete(_ name: String, in parent: Int32, describedAs path: String) throws(BtrfsError) {
        errno = 0
        let result = btrfs_util_delete_subvolume_fd(parent, name, 0)
        guard result == BTRFS_UTIL_OK else { throw BtrfsError("delete the snapshot \(path)", result) }
    }
}
