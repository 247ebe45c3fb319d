#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Quiesce
import QuiesceFiles

/// Every closed session's ``SessionRecord``, newest first, in `<state>/history/` (`0700`, one
/// `0600` file per session named `<ended, ms since 1970>-<id>.json`): what `quiescectl history`
/// and the last failure in `quiescectl writers` show. Bounded: the oldest records go past
/// ``limit``, and a record over ``recordBytes`` keeps its writers' states but drops their
/// component details. Written when a session closes, after every writer has thawed, so never
/// while a volume is frozen.
actor SessionHistory {
    /// The most records kept.
    let limit: Int
    /// The largest record file, in bytes.
    static let recordBytes = 1 << 20

    private let directory: DirectoryHandle

    /// Opens (or makes, `0700`) the history directory.
    init(stateDirectory: String, limit: Int) throws {
        let (state, _) = try DirectoryHandle.make(absolute: stateDirectory, mode: 0o755, parentMode: 0o755)
        directory = try state.openOwnDirectory(FileName("history")!, mode: 0o700)
        self.limit = limit
    }

    /// Keeps `record`, then forgets the oldest records past the limit.
    func append(_ record: SessionRecord) throws {
        var text = try JSONCoding.encode(record)
        if text.utf8.count > Self.recordBytes {
            var smaller = record
            for index in smaller.writers.indices {
                smaller.writers[index].status.components = []
                smaller.writers[index].consistency = [:]
            }
            text = try JSONCoding.encode(smaller)
        }
        let stamp = String(Int64(record.ended.timeIntervalSince1970 * 1000))
        let name = String(repeating: "0", count: max(0, 14 - stamp.count)) + stamp + "-" + record.id + ".json"
        guard let file = FileName(name) else { throw FileError("record", name, reason: "not a file name") }
        try directory.writeFileAtomically(file, Array(text.utf8))
        for old in try names().dropFirst(limit) { try directory.removeTree(old) }
    }

    /// Up to `count` records, newest first, no more than fit in one reply. A record that
    /// cannot be read is skipped.
    func records(count: Int) throws -> [SessionRecord] {
        var records: [SessionRecord] = []
        var bytes = 0
        for name in try names().prefix(count) {
            guard let text = try? directory.readFile(name, limit: Self.recordBytes) else { continue }
            bytes += text.count
            guard bytes <= InputLimits.replyBytes / 2 else { break }
            if let record = try? JSONCoding.decode(SessionRecord.self, from: String(decoding: text, as: UTF8.self)) { records.append(record) }
        }
        return records
    }

    /// The record of session `id`, if it is still kept.
    func record(id: String) throws -> SessionRecord? {
        guard Identifiers.isValid(id) else { return nil }
        return try names().first { $0.string?.hasSuffix("-\(id).json") == true }.map(read)
    }

    /// Record files, newest first.
    private func names() throws -> [FileName] {
        try directory.entries().filter { $0.string.map { $0.hasSuffix(".json") && !$0.hasPrefix(".") } ?? false }
            .sorted { ($0.string ?? "") > ($1.string ?? "") }
    }

    private func read(_ name: FileName) throws -> SessionRecord {
        try JSONCoding.decode(SessionRecord.self, from: String(decoding: try directory.readFile(name, limit: Self.recordBytes), as: UTF8.self))
    }
}
