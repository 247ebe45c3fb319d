#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Quiesce
import QuiesceFiles

/// The snapshot sets kept after their sessions, in `<state>/kept-sets/<set id>.json` (`0700`
/// directory, `0600` files). What each set is made of stays in the ``SnapshotLedger``: a kept
/// set is one the ledger's cleanup at start leaves alone, and deleting it goes through the
/// ledger like any other set.
actor KeptSnapshotSets {
    private let directory: DirectoryHandle

    /// Opens (or makes, `0700`) the directory.
    init(stateDirectory: String) throws {
        let (state, _) = try DirectoryHandle.make(absolute: stateDirectory, mode: 0o755, parentMode: 0o755)
        directory = try state.openOwnDirectory(FileName("kept-sets")!, mode: 0o700)
    }

    /// Records `set` as kept.
    func keep(_ set: KeptSnapshotSet) throws {
        try directory.writeFileAtomically(try fileName(set.id), Array(try JSONCoding.encode(set).utf8))
    }

    /// Every kept set, oldest first. A record that cannot be read is skipped.
    func all() throws -> [KeptSnapshotSet] {
        try directory.entries().compactMap { name -> KeptSnapshotSet? in
            guard let text = name.string, text.hasSuffix(".json"), !text.hasPrefix(".") else { return nil }
            return try? JSONCoding.decode(KeptSnapshotSet.self, from: String(decoding: try directory.readFile(name, limit: 4 << 20), as: UTF8.self))
        }.sorted { $0.created < $1.created }
    }

    /// The kept set `id`, if there is one.
    func set(_ id: String) throws -> KeptSnapshotSet? {
        guard Identifiers.isValid(id), try directory.status(try fileName(id)) != nil else { return nil }
        return try JSONCoding.decode(KeptSnapshotSet.self, from: String(decoding: try directory.readFile(try fileName(id), limit: 4 << 20), as: UTF8.self))
    }

    /// Forgets set `id` (once its snapshots are deleted).
    func forget(_ id: String) throws {
        try directory.removeTree(try fileName(id))
    }

    private func fileName(_ id: String) throws -> FileName {
        guard Identifiers.isValid(id), let name = FileName(id + ".json") else { throw FileError("record", id, reason: "not a snapshot set id") }
        return name
    }
}
