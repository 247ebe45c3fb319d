import Glibc

/// Moves the entries of one journal volume between the live tree and the work directory, in
/// either direction. Every step is a rename inside one filesystem, and where a live entry
/// exists it is swapped with `RENAME_EXCHANGE`, so a live entry is at every instant either
/// the old one or the restored one, never missing and never a mix. Where each entry stands
/// is read off the disk (the staged copy's inode), so a swap killed at any point can be
/// finished or undone by running either direction again.
struct VolumeSwap {
    let volume: RestoreJournal.Volume
    let root: DirectoryHandle
    let work: DirectoryHandle
    let staged: DirectoryHandle
    let replaced: DirectoryHandle

    static let newName = FileName("new")!
    static let oldName = FileName("old")!

    /// Opens the swap root and the volume's work directory in it.
    init(_ volume: RestoreJournal.Volume) throws {
        self.volume = volume
        root = try DirectoryHandle.open(absolute: volume.root)
        work = try root.openDirectory(volume.work)
        staged = try work.openDirectory(Self.newName)
        replaced = try work.openDirectory(Self.oldName)
    }

    /// Where a staged entry stands.
    private enum Stand {
        /// The staged copy waits in `new/`; `liveExists` tells whether something is live.
        case staged(liveExists: Bool)
        /// Swapped: the staged copy is live and `new/` holds what it replaced.
        case exchanged
        /// Done: the staged copy is live, what it replaced (if anything) is in `old/`.
        case placed
    }

    /// Puts every entry in place (from any point of an interrupted swap).
    func forward() throws {
        for entry in volume.entries {
            let live = try liveParent(of: entry.path, creating: true)
            let name = entry.path.name
            let old = try parent(of: entry.path, in: replaced, creating: true)
            guard let inode = entry.stagedInode else {
                if try old.status(name) == nil, try live.status(name) != nil {
                    try live.rename(name, to: old, as: name)
                }
                continue
            }
            let new = try parent(of: entry.path, in: staged, creating: false)
            switch try stand(of: entry.path, inode: inode, live: live, new: new) {
            case .staged(let liveExists):
                if liveExists {
                    try new.rename(name, to: live, as: name, exchange: true)
                    try new.rename(name, to: old, as: name)
                } else {
                    try new.rename(name, to: live, as: name)
                }
            case .exchanged:
                try new.rename(name, to: old, as: name)
            case .placed:
                break
            }
        }
        try synchronize()
    }

    /// Puts every entry back as it was before the swap (from any point of it).
    func backward() throws {
        for entry in volume.entries.reversed() {
            let name = entry.path.name
            guard let live = try? liveParent(of: entry.path, creating: false) else { continue }
            let old = try parent(of: entry.path, in: replaced, creating: true)
            guard let inode = entry.stagedInode else {
                if try old.status(name) != nil {
                    guard try live.status(name) == nil else {
                        throw FileError("put back", live.pathOf(name), reason: "something new was created there; what it replaced is kept in \(old.pathOf(name))")
                    }
                    try old.rename(name, to: live, as: name)
                }
                continue
            }
            let new = try parent(of: entry.path, in: staged, creating: true)
            switch try stand(of: entry.path, inode: inode, live: live, new: new) {
            case .staged:
                break
            case .exchanged:
                try live.rename(name, to: new, as: name, exchange: true)
            case .placed:
                if try old.status(name) != nil {
                    try live.rename(name, to: old, as: name, exchange: true)
                    try old.rename(name, to: new, as: name)
                } else {
                    try live.rename(name, to: new, as: name)
                }
            }
        }
        try synchronize()
    }

    private func stand(of path: RelativePath, inode: UInt64, live: DirectoryHandle, new: DirectoryHandle) throws -> Stand {
        let name = path.name
        let liveStatus = try live.status(name)
        if liveStatus?.inode == inode {
            return try new.status(name) != nil ? .exchanged : .placed
        }
        guard try new.status(name)?.inode == inode else {
            throw FileError("restore", live.pathOf(name), reason: "its staged copy is no longer in \(new.pathOf(name))")
        }
        return .staged(liveExists: liveStatus != nil)
    }

    /// The live directory holding `path`; missing directories are made with the attributes
    /// their staged copies have.
    private func liveParent(of path: RelativePath, creating: Bool) throws -> DirectoryHandle {
        var directory = root
        var model = staged
        for element in path.parentElements {
            if creating, try directory.status(element) == nil {
                try directory.makeDirectory(element)
                if let copy = try? model.openDirectory(element) {
                    try directory.openDirectory(element).applyAttributes(of: try copy.status())
                }
            }
            directory = try directory.openDirectory(element)
            if let next = try? model.openDirectory(element) { model = next }
        }
        return directory
    }

    private func parent(of path: RelativePath, in base: DirectoryHandle, creating: Bool) throws -> DirectoryHandle {
        var directory = base
        for element in path.parentElements {
            if creating, try directory.status(element) == nil { try directory.makeDirectory(element) }
            directory = try directory.openDirectory(element)
        }
        return directory
    }

    private func synchronize() throws {
        try root.synchronize()
        try staged.synchronize()
        try replaced.synchronize()
    }
}
