#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Quiesce
import QuiesceFiles

/// What each snapshot set is made of, written down before it is made, in
/// `<state>/snapshot-sets/<set id>.json`: how quiesced finds, after being killed, the snapshots
/// that providers made on volumes (btrfs subvolumes, reflink copies, device snapshots).
actor SnapshotLedger {
    /// One thing a provider made.
    struct Item: Codable, Sendable, Hashable {
        var provider: String
        var item: String
    }

    private let directory: DirectoryHandle

    /// Opens (or makes, `0700`) the ledger directory.
    init(stateDirectory: String) throws {
        let (state, _) = try DirectoryHandle.make(absolute: stateDirectory, mode: 0o755, parentMode: 0o755)
        directory = try state.openOwnDirectory(FileName("snapshot-sets")!, mode: 0o700)
    }

    /// Adds `item` of `provider` to set `setId`.
    func record(_ item: String, provider: String, set setId: String) throws {
        var items = try items(of: setId)
        items.append(Item(provider: provider, item: item))
        try directory.writeFileAtomically(try fileName(setId), Array(try JSONCoding.encode(items).utf8))
    }

    /// The items of set `setId`, in the order they were made.
    func items(of setId: String) throws -> [Item] {
        let name = try fileName(setId)
        guard try directory.status(name) != nil else { return [] }
        return try JSONCoding.decode([Item].self, from: String(decoding: try directory.readFile(name, limit: 16 << 20), as: UTF8.self))
    }

    /// Forgets set `setId` (once everything in it is removed).
    func forget(_ setId: String) throws {
        try directory.removeTree(try fileName(setId))
    }

    /// The sets written down.
    func sets() throws -> [String] {
        try directory.entries().compactMap { $0.string.flatMap { $0.hasSuffix(".json") && !$0.hasPrefix(".") ? String($0.dropLast(5)) : nil } }
    }

    private func fileName(_ setId: String) throws -> FileName {
        guard Identifiers.isValid(setId), let name = FileName(setId + ".json") else { throw FileError("record", setId, reason: "not a snapshot set id") }
        return name
    }
}
