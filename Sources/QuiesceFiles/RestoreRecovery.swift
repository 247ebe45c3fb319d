import Glibc

/// Finishes or rolls back restore transactions whose process died, from their journals.
///
/// - Killed while staging: nothing live had changed; the staged copies are removed.
/// - Killed while swapping: the swap is finished (every staged copy is complete by then).
/// - Killed after the swap: the restore stands; what it replaced is kept, and said where.
/// - Killed while removing the work directories: the removal is finished (or what was
///   replaced kept, as that restore had decided).
///
/// Transactions whose process is alive (their lock is held) are left alone.
public enum RestoreRecovery {
    /// What recovery did with one transaction.
    public struct Outcome: Sendable, CustomStringConvertible {
        /// The transaction's id.
        public var id: String
        /// The targets it was restoring.
        public var targets: [String]
        /// Whether the restore stands (finished) or was undone.
        public var finished: Bool
        /// Where what the restore replaced is kept.
        public var kept: [String]

        /// One line for the operator.
        public var description: String {
            let where_ = targets.joined(separator: ", ")
            guard finished else { return "rolled back the interrupted restore \(id) of \(where_): nothing had been changed" }
            let keptText = kept.isEmpty ? "" : "; what it replaced is kept in \(kept.joined(separator: ", "))"
            return "finished the interrupted restore \(id) of \(where_)\(keptText)"
        }
    }

    /// Recovers every dead transaction in `<stateDirectory>/restores`.
    public static func run(stateDirectory: String) throws -> [Outcome] {
        let journals = try JournalDirectory(stateDirectory: stateDirectory)
        var outcomes: [Outcome] = []
        for id in try journals.ids() {
            guard let lock = try lockUnlessAlive(id, in: journals) else { continue }
            let journal = try journals.read(id)
            guard journal.volumes.allSatisfy({ $0.root.hasPrefix("/") && $0.target.hasPrefix("/") }) else {
                throw FileError("recover", journals.handle.pathOf("\(id).json"), reason: "the journal names a relative path")
            }
            let targets = journal.volumes.map(\.target)
            if journal.phase == .staging {
                try RestoreTransaction.undo(journal, journals: journals)
                outcomes.append(Outcome(id: id, targets: targets, finished: false, kept: []))
            } else {
                let kept = try RestoreTransaction.clean(journal, keep: true, journals: journals)
                outcomes.append(Outcome(id: id, targets: targets, finished: true, kept: kept))
            }
            try journals.remove(id, lock: lock)
        }
        return outcomes
    }

    /// Takes the transaction's lock, unless its process still holds it. A process that forks
    /// (to run a command) shares our descriptors until the child execs, so a busy lock is tried
    /// a few times over 50 ms before the transaction counts as alive.
    private static func lockUnlessAlive(_ id: String, in journals: JournalDirectory) throws -> Int32? {
        for attempt in 0..<6 {
            if let lock = try journals.lock(id) { return lock }
            if attempt < 5 { usleep(10_000) }
        }
        return nil
    }
}
