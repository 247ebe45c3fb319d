import CLinuxFiles
import Glibc

/// An open directory. It is reached without following a symlink in any path component, and
/// every operation on it is relative to it, without following symlinks either: a path that
/// another user swaps for a symlink between two steps is refused, never followed.
public final class DirectoryHandle: Sendable {
    /// The descriptor, open for as long as the handle lives.
    public let descriptor: Int32
    /// The path the handle was opened as (for messages only).
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    /// Opens an absolute directory path, refusing symlinks in any component.
    public static func open(absolute path: String) throws -> DirectoryHandle {
        guard path.utf8.first == UInt8(ascii: "/") else { throw FileError("open", path, reason: "the path is not absolute") }
        let fd = quiesce_open_no_symlinks(AT_FDCWD, path, O_RDONLY | O_DIRECTORY, 0, 0)
        guard fd >= 0 else { throw FileError("open", path) }
        return DirectoryHandle(descriptor: fd, path: path)
    }

    /// Opens a directory the caller chose itself (following symlinks, as `cd` does), for the
    /// read side of a copy; everything below it is then reached without following symlinks.
    public static func openFollowing(_ path: String) throws -> DirectoryHandle {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError("open", path) }
        return DirectoryHandle(descriptor: fd, path: path)
    }

    /// The path of `relative` below this directory, for messages.
    public func pathOf(_ relative: CustomStringConvertible) -> String {
        path == "/" ? "/\(relative)" : "\(path)/\(relative)"
    }

    /// Opens a directory below this one; no component may be a symlink or leave this directory.
    public func openDirectory(_ relative: RelativePath) throws -> DirectoryHandle {
        let fd = relative.bytes.withUnsafeBufferPointer { buffer in
            (Array(buffer) + [0]).withUnsafeBufferPointer {
                $0.withMemoryRebound(to: CChar.self) { quiesce_open_no_symlinks(descriptor, $0.baseAddress!, O_RDONLY | O_DIRECTORY, 0, 1) }
            }
        }
        guard fd >= 0 else { throw FileError("open", pathOf(relative)) }
        return DirectoryHandle(descriptor: fd, path: pathOf(relative))
    }

    /// Opens the directory `name` below this one.
    public func openDirectory(_ name: FileName) throws -> DirectoryHandle {
        try openDirectory(RelativePath([name]))
    }

    /// Opens `name` with `flags` (and `mode` when creating), never following a symlink.
    public func openFile(_ name: FileName, flags: Int32, mode: mode_t = 0o600) throws -> Int32 {
        let fd = name.withCString { quiesce_open_no_symlinks(descriptor, $0, flags, UInt32(mode), 1) }
        guard fd >= 0 else { throw FileError(flags & O_CREAT != 0 ? "create" : "open", pathOf(name)) }
        return fd
    }

    /// What `name` is, or `nil` when there is no such entry.
    public func status(_ name: FileName) throws -> FileStatus? {
        var raw = stat()
        let result = name.withCString { fstatat(descriptor, $0, &raw, AT_SYMLINK_NOFOLLOW) }
        if result == 0 { return FileStatus(raw) }
        if errno == ENOENT { return nil }
        throw FileError("inspect", pathOf(name))
    }

    /// What this directory itself is.
    public func status() throws -> FileStatus {
        var raw = stat()
        guard fstat(descriptor, &raw) == 0 else { throw FileError("inspect", path) }
        return FileStatus(raw)
    }

    /// Whether `name` is the root of a mount (a rename cannot move it).
    public func isMountRoot(_ name: FileName) throws -> Bool {
        let result = name.withCString { quiesce_is_mount_root(descriptor, $0) }
        guard result >= 0 else { throw FileError("inspect", pathOf(name)) }
        return result == 1
    }

    /// Creates the directory `name` with `mode` (exactly: the umask does not apply afterwards).
    public func makeDirectory(_ name: FileName, mode: mode_t = 0o700) throws {
        guard name.withCString({ mkdirat(descriptor, $0, mode) }) == 0 else { throw FileError("create", pathOf(name)) }
        let child = try openDirectory(name)
        guard fchmod(child.descriptor, mode) == 0 else { throw FileError("set the mode of", child.path) }
    }

    /// Opens the directory `name` below this one in which this process keeps things of its own
    /// (journals, ledgers, snapshot places), making it with `mode` if it is missing. One that
    /// belongs to another user is refused (whoever owns it could rename and swap what we keep
    /// there); ours gets `mode`, in case it was loosened.
    public func openOwnDirectory(_ name: FileName, mode: mode_t) throws -> DirectoryHandle {
        if try status(name) == nil {
            do { try makeDirectory(name, mode: mode) } catch let error as FileError where error.code == EEXIST {}
        }
        let directory = try openDirectory(name)
        let current = try directory.status()
        guard current.uid == geteuid() else {
            throw FileError("use", directory.path, reason: "it belongs to uid \(current.uid), not to this process's user")
        }
        if current.permissions != mode, fchmod(directory.descriptor, mode) != 0 { throw FileError("set the mode of", directory.path) }
        return directory
    }

    /// The names in this directory, sorted, without `.` and `..`.
    public func entries() throws -> [FileName] {
        let copy = dup(descriptor)
        guard copy >= 0, let stream = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            throw FileError("list", path)
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var names: [FileName] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw FileError("list", path) }
                break
            }
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if let name = FileName(bytes: bytes) { names.append(name) }
        }
        return names.sorted()
    }

    /// Renames `name` to `newName` in `target`; with `exchange`, both must exist and swap
    /// atomically; otherwise `newName` must not exist.
    public func rename(_ name: FileName, to target: DirectoryHandle, as newName: FileName, exchange: Bool = false) throws {
        let result = name.withCString { old in
            newName.withCString { new in
                exchange
                    ? quiesce_rename_exchange(descriptor, old, target.descriptor, new)
                    : quiesce_rename_noreplace(descriptor, old, target.descriptor, new)
            }
        }
        guard result == 0 else { throw FileError(exchange ? "swap" : "rename", "\(pathOf(name)) and \(target.pathOf(newName))") }
    }

    /// Makes sure the directory's entries are on disk.
    public func synchronize() throws {
        guard fsync(descriptor) == 0 else { throw FileError("sync", path) }
    }

    /// Sets the owner, mode and times of this directory to those of `status`.
    public func applyAttributes(of status: FileStatus) throws {
        try Attributes.apply(status, to: descriptor, path: path)
    }
}

extension DirectoryHandle {
    /// Opens the absolute directory `path`, making the components that are missing (the last
    /// with `mode`, the others with `parentMode`), never following a symlink. Returns the
    /// handle and whether the last component was made. (For a directory of this process's own,
    /// see ``openOwnDirectory(_:mode:)``.)
    public static func make(absolute path: String, mode: mode_t, parentMode: mode_t) throws -> (DirectoryHandle, created: Bool) {
        guard path.utf8.first == UInt8(ascii: "/") else { throw FileError("create", path, reason: "the path is not absolute") }
        // By bytes: a `/` before a combining mark is one character to Swift, a separator to the kernel.
        let elements = path.utf8.split(separator: UInt8(ascii: "/")).map(Array.init)
        var directory = try DirectoryHandle.open(absolute: "/")
        var created = false
        for (index, element) in elements.enumerated() {
            guard let name = FileName(bytes: element) else { throw FileError("create", path, reason: "it has a '.' or '..' element") }
            created = false
            if try directory.status(name) == nil {
                do {
                    try directory.makeDirectory(name, mode: index == elements.count - 1 ? mode : parentMode)
                    created = true
                } catch let error as FileError where error.code == EEXIST {}  // made by someone else meanwhile
            }
            directory = try directory.openDirectory(name)
        }
        return (directory, created)
    }
}
