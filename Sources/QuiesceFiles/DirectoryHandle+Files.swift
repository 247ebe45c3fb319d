import CLinuxFiles
import Glibc

extension DirectoryHandle {
    /// Reads the regular file `name` to its end (files in /proc say they are empty), refusing
    /// one larger than `limit` bytes.
    public func readFile(_ name: FileName, limit: Int) throws -> [UInt8] {
        let fd = try openFile(name, flags: O_RDONLY | O_NOCTTY)
        defer { close(fd) }
        var raw = stat()
        guard fstat(fd, &raw) == 0 else { throw FileError("inspect", pathOf(name)) }
        guard raw.st_mode & S_IFMT == S_IFREG else { throw FileError("read", pathOf(name), reason: "it is not a regular file") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw FileError("read", pathOf(name)) }
            if count == 0 { return bytes }
            guard bytes.count + count <= limit else {
                throw FileError("read", pathOf(name), reason: "it holds more than the limit of \(limit) bytes")
            }
            bytes += chunk.prefix(count)
        }
    }

    /// Replaces the file `name` with `bytes` so that a crash leaves the old or the new
    /// content, never a mix: written to a new file, synced, renamed over `name`, and the
    /// directory synced; `owner` gives it to that user and group first (quiesced writing into
    /// another user's directory).
    public func writeFileAtomically(_ name: FileName, _ bytes: [UInt8], mode: mode_t = 0o600, owner: (uid: uid_t, gid: gid_t)? = nil) throws {
        let temporary = FileName(".\(name).new-\(getpid())")!
        _ = try? removeTree(temporary)
        let fd = try openFile(temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)
        if let owner, fchown(fd, owner.uid, owner.gid) != 0 {
            let error = FileError("give to uid \(owner.uid)", pathOf(temporary))
            close(fd)
            throw error
        }
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                let error = FileError("write", pathOf(temporary))
                close(fd)
                throw error
            }
            done += count
        }
        guard fsync(fd) == 0 else {
            let error = FileError("sync", pathOf(temporary))
            close(fd)
            throw error
        }
        close(fd)
        let result = temporary.withCString { old in name.withCString { renameat(descriptor, old, descriptor, $0) } }
        guard result == 0 else { throw FileError("rename", pathOf(temporary)) }
        try synchronize()
    }

    /// Removes `name` and, if it is a directory, everything below it, never following a
    /// symlink (a symlink is removed, not its target). Absent is fine.
    public func removeTree(_ name: FileName) throws {
        guard let status = try status(name) else { return }
        if status.kind == .directory {
            let child: DirectoryHandle
            do {
                child = try openDirectory(name)
            } catch let error as FileError where error.code == ELOOP || error.code == ENOTDIR {
                // Swapped for something else since we looked: remove that instead.
                return try removeTree(name)
            } catch let error as FileError where error.code == ENOENT {
                return  // removed since we looked: what was asked for is done
            }
            if !Attributes.canChangeOwner, status.uid == geteuid(), status.permissions & 0o300 != 0o300 {
                _ = fchmod(child.descriptor, 0o700)  // our own read-only directory: make it emptiable
            }
            for entry in try child.entries() { try child.removeTree(entry) }
            guard name.withCString({ unlinkat(descriptor, $0, AT_REMOVEDIR) }) == 0 || errno == ENOENT else { throw FileError("remove", pathOf(name)) }
        } else {
            guard name.withCString({ unlinkat(descriptor, $0, 0) }) == 0 || errno == ENOENT else { throw FileError("remove", pathOf(name)) }
        }
    }
}

extension DirectoryHandle {
    /// Whether the filesystem shares a file's extents with a copy of it (reflink, `FICLONE`):
    /// tried on two small files made and removed in this directory.
    public func canShareExtents() throws -> Bool {
        let original = FileName(".quiesce-probe-\(getpid())-a")!
        let copy = FileName(".quiesce-probe-\(getpid())-b")!
        defer {
            try? removeTree(original)
            try? removeTree(copy)
        }
        let source = try openFile(original, flags: O_RDWR | O_CREAT | O_EXCL)
        defer { close(source) }
        let block = [UInt8](repeating: 0x51, count: 4096)
        guard block.withUnsafeBytes({ write(source, $0.baseAddress!, $0.count) }) == block.count else { throw FileError("write", pathOf(original)) }
        let destination = try openFile(copy, flags: O_WRONLY | O_CREAT | O_EXCL)
        defer { close(destination) }
        return quiesce_clone_file(destination, source) == 0
    }
}
