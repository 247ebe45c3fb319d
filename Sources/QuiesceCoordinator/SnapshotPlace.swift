import Glibc
import Quiesce
import QuiesceFiles

/// `<mount point>/.quiesce-snapshots/<set id>`: where snapshots that must stay on their
/// volume's filesystem are made (btrfs snapshots, reflink copies). `.quiesce-snapshots` is
/// `0711` and root's (nobody can list it); each set is `0700`, root's while it is made and the
/// session owner's afterwards. Restores and copies leave `.quiesce-snapshots` alone.
enum SnapshotPlace {
    static let directoryName = FileName(".quiesce-snapshots")!

    /// `.quiesce-snapshots` on the filesystem mounted at `mountPoint`, made if missing; refused
    /// when someone else made it (the mount's owner could otherwise swap what quiesced keeps there).
    static func open(on mountPoint: String) throws -> DirectoryHandle {
        try DirectoryHandle.open(absolute: mountPoint).openOwnDirectory(directoryName, mode: 0o711)
    }

    /// Makes the set's directory on the filesystem mounted at `mountPoint`, after recording it.
    static func makeSet(on mountPoint: String, setId: String, record: @Sendable (String) async throws -> Void) async throws -> DirectoryHandle {
        let place = try open(on: mountPoint)
        guard let setName = FileName(setId) else { throw FileError("use", setId, reason: "not a snapshot set id") }
        try await record(place.pathOf(setName))
        try place.makeDirectory(setName, mode: 0o700)
        return try place.openDirectory(setName)
    }

    /// Gives a finished set to the session's owner.
    static func handOver(_ set: DirectoryHandle, to owner: UInt32) throws {
        guard fchown(set.descriptor, owner, 0) == 0 else { throw FileError("give", set.path) }
    }

    /// Removes the entry `path` (absolute), reached without symlinks; `removeSubvolume` is
    /// asked first whether it is a subvolume it removes itself.
    static func remove(_ path: String, removeSubvolume: (DirectoryHandle, FileName) throws -> Bool = { _, _ in false }) throws {
        guard let slash = path.lastIndex(of: "/"), let name = FileName(String(path[path.index(after: slash)...])) else { return }
        let parent = try DirectoryHandle.open(absolute: slash == path.startIndex ? "/" : String(path[..<slash]))
        guard try parent.status(name) != nil else { return }
        if try !removeSubvolume(parent, name) { try parent.removeTree(name) }
    }
}
