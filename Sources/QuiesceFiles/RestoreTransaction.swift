import Foundation
import Glibc

/// A restore as a transaction per target directory: copies are staged beside each target
/// (same filesystem, in a `0700` work directory, nothing followed), then swapped into place
/// with renames, keeping what they replace until ``finish(keepReplaced:)``. Until the swap,
/// nothing live changes; a journal in the state directory lets ``RestoreRecovery`` finish or
/// roll back a transaction whose process was killed.
public final class RestoreTransaction {
    /// The transaction's id.
    public var id: String { journal.id }
    private var journal: RestoreJournal
    private let journals: JournalDirectory
    private let lock: Int32
    private var finished = false

    /// The names Quiesce gives its own directories in a volume (restore work directories, and
    /// snapshots on the volume's filesystem): never restored, never taken away.
    public static func isWorkDirectory(_ name: FileName) -> Bool {
        name.string.map { $0.hasPrefix(".quiesce-restore-") || $0.hasPrefix(".quiesce-replaced-") || $0 == ".quiesce-snapshots" } ?? false
    }

    /// Starts a transaction whose journal lives in `<stateDirectory>/restores`.
    public init(stateDirectory: String) throws {
        journals = try JournalDirectory(stateDirectory: stateDirectory)
        let id = UUID().uuidString.lowercased()
        guard let lock = try journals.lock(id) else { throw FileError("lock", id, reason: "it is locked already") }
        self.lock = lock
        journal = RestoreJournal(id: id, startedAt: Date(), phase: .staging, volumes: [])
        try journals.write(journal)
    }

    deinit {
        if !finished { close(lock) }
    }

    /// What a staged target looks like.
    public enum Staging: Sendable {
        /// The target directory itself is swapped (it is not a mount point).
        case wholeDirectory
        /// Its top-level entries are swapped one by one (it is a mount point, or `/`).
        case topLevelEntries
    }

    /// Stages a copy of everything in `source` to replace the directory `target` (made, with
    /// missing parents `0700`, if it does not exist).
    public func stageWhole(
        from source: DirectoryHandle,
        to target: String,
        progress: (@Sendable (CopyProgress) -> Void)? = nil
    ) async throws -> (Staging, CopySummary) {
        let (parentPath, name) = Self.split(target)
        let parent = try DirectoryHandle.make(absolute: parentPath, mode: 0o700, parentMode: 0o700).0
        if let name, try parent.status(name)?.kind != .directory || !(try parent.isMountRoot(name)) {
            var volume = RestoreJournal.Volume(target: target, root: parentPath, entries: [], work: nextWorkName())
            let work = try makeWorkDirectory(in: parent, recording: volume)
            let staged = try work.openDirectory(VolumeSwap.newName)
            try staged.makeDirectory(name)
            let summary = try await TreeCopy().copyContents(of: source, into: try staged.openDirectory(name), progress: progress)
            volume.entries = [RestoreJournal.Entry(path: RelativePath([name]), stagedInode: try staged.status(name)?.inode)]
            try record(volume)
            return (.wholeDirectory, summary)
        }
        let live = try DirectoryHandle.open(absolute: target)
        let keep: (FileName) -> Bool = { !Self.isWorkDirectory($0) && $0.string != "lost+found" }
        let incoming = try source.entries().filter(keep).map { RelativePath([$0]) }
        let outgoing = try live.entries().filter(keep).map { RelativePath([$0]) }
        let summary = try await stageEntries(incoming, removing: outgoing.filter { !incoming.contains($0) }, from: source, to: target, progress: progress)
        return (.topLevelEntries, summary)
    }

    /// Stages copies of the entries `paths` of `source` (relative to it and to `target`), and
    /// marks `removing` (relative to `target`) to be taken away.
    public func stageEntries(
        _ paths: [RelativePath],
        removing: [RelativePath],
        from source: DirectoryHandle,
        to target: String,
        progress: (@Sendable (CopyProgress) -> Void)? = nil
    ) async throws -> CopySummary {
        let live = try DirectoryHandle.make(absolute: target, mode: 0o700, parentMode: 0o700).0
        var volume = RestoreJournal.Volume(target: target, root: target, entries: [], work: nextWorkName())
        let work = try makeWorkDirectory(in: live, recording: volume)
        let staged = try work.openDirectory(VolumeSwap.newName)
        let summary = try await TreeCopy().copyEntries(paths, of: source, into: staged, progress: progress)
        for path in paths.sorted() {
            let parent = path.parentElements.isEmpty ? staged : try staged.openDirectory(RelativePath(path.parentElements))
            if let inode = try parent.status(path.name)?.inode { volume.entries.append(.init(path: path, stagedInode: inode)) }
        }
        volume.entries += removing.sorted().map { RestoreJournal.Entry(path: $0, stagedInode: nil) }
        try record(volume)
        return summary
    }

    /// Swaps every staged target into place. If one fails, the targets swapped so far are
    /// swapped back before the error is thrown.
    public func swap() throws {
        journal.phase = .swapping
        try journals.write(journal)
        var done: [VolumeSwap] = []
        do {
            for volume in journal.volumes {
                let swap = try VolumeSwap(volume)
                try swap.forward()
                done.append(swap)
            }
        } catch {
            // Put back what moved; the journal stays at swapping, so that if this fails too,
            // recovery still knows to look at every entry.
            for swap in done.reversed() { try? swap.backward() }
            if let failed = try? VolumeSwap(journal.volumes[done.count]) { try? failed.backward() }
            throw error
        }
        journal.phase = .swapped
        try journals.write(journal)
    }

    /// Ends the transaction: what the swap replaced is removed, or with `keepReplaced` kept;
    /// returns where it was kept.
    @discardableResult
    public func finish(keepReplaced: Bool) throws -> [String] {
        let kept = try Self.clean(journal, keep: keepReplaced, journals: journals)
        try journals.remove(id, lock: lock)
        finished = true
        return kept
    }

    /// Gives up before or after the swap: everything swapped goes back, staged copies are removed.
    public func rollBack() throws {
        try Self.undo(journal, journals: journals)
        try journals.remove(id, lock: lock)
        finished = true
    }

    // MARK: - Shared with recovery

    /// Swaps back whatever was swapped (nothing was, before the swap phase), notes in the
    /// journal that nothing live is changed any more (phase staging again), then removes the
    /// work directories. Killed at any point, it can be run again from the journal: the swap is
    /// never undone on a half-removed `new/`.
    static func undo(_ journal: RestoreJournal, journals: JournalDirectory) throws {
        var journal = journal
        if journal.phase != .staging {
            for volume in journal.volumes.reversed() {
                guard try Self.root(holdingWorkOf: volume) != nil else { continue }
                try VolumeSwap(volume).backward()
            }
            journal.phase = .staging
            try journals.write(journal)
        }
        for volume in journal.volumes.reversed() {
            guard let root = try Self.root(holdingWorkOf: volume) else { continue }
            try root.removeTree(volume.work)
        }
    }

    /// Finishes the swap of every volume, notes in the journal that only clean-up is left (and
    /// whether what was replaced is kept: `keep`, unless an earlier clean-up decided), then
    /// removes the work directories or keeps what was replaced. Killed at any point, it can be
    /// run again from the journal: the swap is never redone on a half-removed `new/`.
    static func clean(_ journal: RestoreJournal, keep: Bool, journals: JournalDirectory) throws -> [String] {
        var journal = journal
        if journal.phase != .cleaningUp {
            for volume in journal.volumes {
                // Without `new/`, a clean-up of an earlier version removed it after the swap.
                guard let root = try Self.root(holdingWorkOf: volume), try root.openDirectory(volume.work).status(VolumeSwap.newName) != nil else { continue }
                if journal.phase != .staging { try VolumeSwap(volume).forward() }
            }
            journal.phase = .cleaningUp
            journal.keepsReplaced = keep
            try journals.write(journal)
        }
        let keep = journal.keepsReplaced ?? keep
        var kept: [String] = []
        for volume in journal.volumes {
            guard let root = try Self.root(holdingWorkOf: volume) else { continue }
            let work = try root.openDirectory(volume.work)
            try work.removeTree(VolumeSwap.newName)
            if keep, try work.status(VolumeSwap.oldName) != nil, try !work.openDirectory(VolumeSwap.oldName).entries().isEmpty {
                try root.rename(volume.work, to: root, as: volume.kept)
                kept.append(root.pathOf(volume.kept) + "/old")
            } else {
                try root.removeTree(volume.work)
            }
            try root.synchronize()
        }
        return kept
    }

    // MARK: - Helpers

    /// The swap root of `volume`, if it still holds the volume's work directory.
    private static func root(holdingWorkOf volume: RestoreJournal.Volume) throws -> DirectoryHandle? {
        guard let root = try? DirectoryHandle.open(absolute: volume.root), try root.status(volume.work) != nil else { return nil }
        return root
    }

    /// A work directory name no other target of this transaction uses (two volumes may share a parent).
    private func nextWorkName() -> FileName {
        FileName(".quiesce-restore-\(id).\(journal.volumes.count)")!
    }

    private func makeWorkDirectory(in root: DirectoryHandle, recording volume: RestoreJournal.Volume) throws -> DirectoryHandle {
        try record(volume)  // first, so that a crash leaves nothing unrecorded
        try root.makeDirectory(volume.work, mode: 0o700)
        let work = try root.openDirectory(volume.work)
        try work.makeDirectory(VolumeSwap.newName)
        try work.makeDirectory(VolumeSwap.oldName)
        return work
    }

    private func record(_ volume: RestoreJournal.Volume) throws {
        if let index = journal.volumes.firstIndex(where: { $0.target == volume.target }) {
            journal.volumes[index] = volume
        } else {
            journal.volumes.append(volume)
        }
        try journals.write(journal)
    }

    /// `/srv/notes` → (`/srv`, `notes`); `/` → (`/`, nil).
    private static func split(_ path: String) -> (String, FileName?) {
        guard path != "/", let slash = path.lastIndex(of: "/") else { return ("/", nil) }
        let parent = String(path[..<slash])
        return (parent.isEmpty ? "/" : parent, FileName(String(path[path.index(after: slash)...])))
    }
}
