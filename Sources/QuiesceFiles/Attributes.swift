import CLinuxFiles
import Glibc

/// Copies what `cp -a` keeps besides the data: owner, mode, extended attributes (ACLs among
/// them) and times.
enum Attributes {
    /// Whether this process may give files away (root); others keep their own uid.
    static let canChangeOwner = geteuid() == 0

    /// Sets owner, mode and times of the open file `fd` from `status` (owner first: a chown
    /// clears set-id bits).
    static func apply(_ status: FileStatus, to fd: Int32, path: String) throws {
        if fchown(fd, status.uid, status.gid) != 0, canChangeOwner || errno != EPERM {
            throw FileError("set the owner of", path)
        }
        guard fchmod(fd, status.permissions) == 0 else { throw FileError("set the mode of", path) }
        var times = [status.accessTime, status.modificationTime]
        guard futimens(fd, &times) == 0 else { throw FileError("set the times of", path) }
    }

    /// Sets owner and times of the entry `name` in `directory` without following it (for
    /// symlinks and special files); the mode too, unless it is a symlink.
    static func apply(_ status: FileStatus, toEntry name: FileName, in directory: Int32, path: String) throws {
        try name.withCString { (entry) throws in
            if fchownat(directory, entry, status.uid, status.gid, AT_SYMLINK_NOFOLLOW) != 0, canChangeOwner || errno != EPERM {
                throw FileError("set the owner of", path)
            }
            if status.kind != .symlink, fchmodat(directory, entry, status.permissions, 0) != 0 {
                throw FileError("set the mode of", path)
            }
            var times = [status.accessTime, status.modificationTime]
            guard utimensat(directory, entry, &times, AT_SYMLINK_NOFOLLOW) == 0 else { throw FileError("set the times of", path) }
        }
    }

    /// Copies the extended attributes of `source` to `destination`. Attributes the filesystem or
    /// our privileges do not allow (`security.*` as non-root, none at all on tmpfs) are skipped.
    static func copyExtended(from source: Int32, to destination: Int32, path: String) throws {
        let size = quiesce_list_xattrs(source, nil, 0)
        if size < 0 {
            if errno == ENOTSUP { return }
            throw FileError("list the extended attributes of", path)
        }
        guard size > 0 else { return }
        var list = [CChar](repeating: 0, count: size)
        let listed = quiesce_list_xattrs(source, &list, size)
        guard listed >= 0 else { throw FileError("list the extended attributes of", path) }
        var start = 0
        for index in 0..<listed where list[index] == 0 {
            let name = String(decoding: list[start..<index].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            start = index + 1
            let length = quiesce_get_xattr(source, name, nil, 0)
            guard length >= 0 else { continue }
            var value = [UInt8](repeating: 0, count: length)
            guard quiesce_get_xattr(source, name, &value, length) == length else { continue }
            if quiesce_set_xattr(destination, name, value, length) != 0, ![EPERM, ENOTSUP, EACCES].contains(errno) {
                throw FileError("set the extended attribute \(name) of", path)
            }
        }
    }
}
