import Foundation
import Glibc

/// The on-disk record of one restore transaction, `<state>/restores/<id>.json`: enough to finish
/// or roll back the swap after the process running it was killed. Written atomically (and
/// synced) at every phase change; its companion `<id>.lock` is `flock`ed while the
/// transaction runs, so recovery never touches a transaction that is still alive.
public struct RestoreJournal: Codable, Sendable {
    /// How far the transaction got.
    public enum Phase: String, Codable, Sendable {
        /// Copies are being made beside the targets; nothing live has changed.
        case staging
        /// Entries are being swapped into place.
        case swapping
        /// Every entry is in place; what they replaced is kept until the restore is confirmed.
        case swapped
        /// The restore stands and only the work directories are left to remove, or to keep
        /// (``RestoreJournal/keepsReplaced``): the staged side (`new/`) may be partly gone, so
        /// nothing is swapped again.
        case cleaningUp = "cleaning-up"
    }

    /// One entry swapped in a volume.
    public struct Entry: Codable, Sendable, Hashable {
        /// The entry, relative to the volume's swap root.
        public var path: RelativePath
        /// The inode of the staged copy; `nil` for an entry that is only taken away.
        public var stagedInode: UInt64?
    }

    /// One target of the restore.
    public struct Volume: Codable, Sendable {
        /// The directory being restored (a volume, or its alternate location).
        public var target: String
        /// The directory in which the entries are swapped: the target's parent when the
        /// target itself is swapped, else the target.
        public var root: String
        /// The entries, in swap order.
        public var entries: [Entry]
        /// The work directory in `root` (`.quiesce-restore-<id>.<n>`): `new/` holds the staged
        /// copies, `old/` what they replaced.
        public var work: FileName

        /// What the work directory is renamed to when the replaced data is kept.
        var kept: FileName { FileName(".quiesce-replaced-" + work.description.dropFirst(".quiesce-restore-".count))! }
    }

    /// The transaction's id.
    public var id: String
    /// When it started.
    public var startedAt: Date
    /// How far it got.
    public var phase: Phase
    /// Its targets.
    public var volumes: [Volume]
    /// Whether what the restore replaced is kept, decided when clean-up starts.
    public var keepsReplaced: Bool?

    /// The most a journal file may hold.
    static let sizeLimit = 64 << 20
}

/// The directory of restore journals, `<state>/restores`, made `0700` if missing.
struct JournalDirectory {
    let handle: DirectoryHandle

    init(stateDirectory: String) throws {
        let (state, _) = try DirectoryHandle.make(absolute: stateDirectory, mode: 0o755, parentMode: 0o755)
        handle = try state.openOwnDirectory(FileName("restores")!, mode: 0o700)
    }

    /// Ids of the journals present.
    func ids() throws -> [String] {
        try handle.entries().compactMap { name in
            guard let text = name.string, text.hasSuffix(".json"), !text.hasPrefix(".") else { return nil }
            return String(text.dropLast(5))
        }
    }

    /// Takes the lock of transaction `id`; `nil` when a living process holds it.
    func lock(_ id: String) throws -> Int32? {
        let fd = try handle.openFile(FileName("\(id).lock")!, flags: O_RDWR | O_CREAT, mode: 0o600)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK { return nil }
            throw FileError("lock", handle.pathOf("\(id).lock"), code: code)
        }
        return fd
    }

    func read(_ id: String) throws -> RestoreJournal {
        let bytes = try handle.readFile(FileName("\(id).json")!, limit: RestoreJournal.sizeLimit)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(RestoreJournal.self, from: Data(bytes))
    }

    func write(_ journal: RestoreJournal) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try handle.writeFileAtomically(FileName("\(journal.id).json")!, Array(try encoder.encode(journal)))
    }

    /// Removes the journal, then its lock file, then lets the lock go.
    func remove(_ id: String, lock: Int32) throws {
        try handle.removeTree(FileName("\(id).json")!)
        try handle.synchronize()
        try handle.removeTree(FileName("\(id).lock")!)
        close(lock)
    }
}
