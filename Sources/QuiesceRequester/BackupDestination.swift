import Glibc
import QuiesceFiles
import QuiesceProtocol

/// The directory a backup is written to (`--to`): made `0700` (the caller's) if it is missing,
/// else it must be empty; reached without following symlinks. Only what the backup wrote is
/// ever removed from it.
struct BackupDestination {
    /// The directory's absolute path.
    let path: String
    /// The open directory.
    let handle: DirectoryHandle
    /// Whether the backup made it (then a failed backup removes it again).
    let created: Bool

    /// Opens or makes `path`.
    init(_ path: String) throws {
        (handle, created) = try DirectoryHandle.make(absolute: path, mode: 0o700, parentMode: 0o755)
        self.path = path
        let isEmpty = created ? true : try handle.entries().isEmpty
        guard isEmpty else {
            throw QuiesceError(.failed, "\(path) is not an empty directory; choose a new one (nothing is overwritten)")
        }
    }

    /// Removes everything the backup wrote.
    func empty() throws {
        for entry in try handle.entries() { try handle.removeTree(entry) }
    }

    /// Removes what a backup that failed wrote: the directory itself when the backup made it.
    func discard() throws {
        try empty()
        if created, let slash = path.lastIndex(of: "/"), let name = FileName(String(path[path.index(after: slash)...])) {
            let parent = try DirectoryHandle.open(absolute: slash == path.startIndex ? "/" : String(path[..<slash]))
            if try parent.status(name)?.inode == (try handle.status()).inode { try parent.removeTree(name) }
        }
    }
}
