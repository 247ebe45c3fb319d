import Glibc

/// One difference between a backup's copy and the live tree: what a restore would change.
public struct TreeChange: Sendable, Hashable, CustomStringConvertible {
    /// What the restore would do to the entry.
    public enum Kind: String, Sendable, Hashable {
        /// The entry is missing live and would be created.
        case create
        /// The entry differs (data, size, times, mode, owner or type) and would be replaced.
        case replace
        /// The entry is only live and would be taken away.
        case remove
    }

    /// What would happen.
    public var kind: Kind
    /// The entry, relative to the restored directory.
    public var path: RelativePath

    /// `replace  db/notes.db`.
    public var description: String { "\(kind.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(path)" }
}

/// Compares a backup's copy of a directory with the live one, without changing either.
public enum TreeDiff {
    /// What restoring `backup` over `live` (`nil` when it does not exist) would change: the
    /// whole tree, or only `entries` and `removing` when they are given.
    public static func changes(
        from backup: DirectoryHandle,
        over live: DirectoryHandle?,
        entries: [RelativePath]? = nil,
        removing: [RelativePath] = []
    ) async throws -> [TreeChange] {
        try await BlockingWork.run { flag in
            var changes: [TreeChange] = []
            if let entries {
                for path in entries.sorted() {
                    try flag.check()
                    let parent = path.parentElements.isEmpty ? nil : RelativePath(path.parentElements)
                    let source = parent.map { try? backup.openDirectory($0) } ?? backup
                    let target = parent.map { try? live?.openDirectory($0) } ?? live
                    try compare(path.name, in: source, with: target, at: path, into: &changes, flag: flag)
                }
                changes += removing.sorted().map { TreeChange(kind: .remove, path: $0) }
            } else {
                try compareContents(of: backup, with: live, prefix: [], into: &changes, flag: flag)
            }
            return changes
        }
    }

    private static func compareContents(of backup: DirectoryHandle, with live: DirectoryHandle?, prefix: [FileName], into changes: inout [TreeChange], flag: CancellationFlag) throws {
        let incoming = try backup.entries().filter { !RestoreTransaction.isWorkDirectory($0) }
        for name in incoming {
            try flag.check()
            try compare(name, in: backup, with: live, at: RelativePath(prefix + [name]), into: &changes, flag: flag)
        }
        for name in try live?.entries() ?? [] where !incoming.contains(name) && !RestoreTransaction.isWorkDirectory(name) && !(prefix.isEmpty && name.string == "lost+found") {
            changes.append(TreeChange(kind: .remove, path: RelativePath(prefix + [name])))
        }
    }

    private static func compare(_ name: FileName, in backup: DirectoryHandle?, with live: DirectoryHandle?, at path: RelativePath, into changes: inout [TreeChange], flag: CancellationFlag) throws {
        guard let backup, let incoming = try backup.status(name) else { return }
        guard let live, let existing = try live.status(name) else {
            changes.append(TreeChange(kind: .create, path: path))
            return
        }
        if incoming.kind == .directory, existing.kind == .directory {
            if !sameAttributes(incoming, existing) { changes.append(TreeChange(kind: .replace, path: path)) }
            try compareContents(of: try backup.openDirectory(name), with: try live.openDirectory(name), prefix: path.elements, into: &changes, flag: flag)
        } else if try differs(name, incoming, existing, backup: backup, live: live) {
            changes.append(TreeChange(kind: .replace, path: path))
        }
    }

    private static func differs(_ name: FileName, _ incoming: FileStatus, _ existing: FileStatus, backup: DirectoryHandle, live: DirectoryHandle) throws -> Bool {
        if incoming.kind != existing.kind || !sameAttributes(incoming, existing) { return true }
        if incoming.kind == .regular { return incoming.size != existing.size }
        if incoming.kind == .symlink { return try linkTarget(name, in: backup) != linkTarget(name, in: live) }
        return false
    }

    private static func sameAttributes(_ a: FileStatus, _ b: FileStatus) -> Bool {
        a.permissions == b.permissions && a.uid == b.uid && a.gid == b.gid
            && (a.kind == .directory || (a.modificationTime.tv_sec == b.modificationTime.tv_sec && a.modificationTime.tv_nsec == b.modificationTime.tv_nsec))
    }

    private static func linkTarget(_ name: FileName, in directory: DirectoryHandle) throws -> [CChar] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = name.withCString { readlinkat(directory.descriptor, $0, &buffer, buffer.count - 1) }
        guard length >= 0 else { throw FileError("read the symlink", directory.pathOf(name)) }
        return Array(buffer.prefix(length))
    }
}
