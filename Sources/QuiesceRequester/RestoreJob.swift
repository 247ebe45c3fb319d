import Quiesce
import QuiesceProtocol
import QuiesceFiles

/// A whole restore, the way `quiescectl restore` makes one: PreRestore to the writers of the
/// backup, the files put back as one transaction per volume, PostRestore with the truth about
/// whether they went back.
///
/// Each volume is staged beside its target without following any symlink, then swapped into
/// place with renames; what it replaced is kept until the writers have accepted PostRestore
/// (and after, with ``keepReplaced``). A restore killed at any moment leaves every volume
/// either as it was or as restored; the next restore (or quiesced at start) finishes or rolls
/// back what was interrupted, from the journal in ``stateDirectory``.
public struct RestoreJob: Sendable {
    /// What to restore and where.
    public var plan: RestorePlan
    /// Keep what the restore replaced even when it succeeds.
    public var keepReplaced: Bool
    /// Where the restore journal lives (`/var/lib/quiesce` for root).
    public var stateDirectory: String

    /// Describes a restore.
    public init(plan: RestorePlan, keepReplaced: Bool = false, stateDirectory: String) {
        self.plan = plan
        self.keepReplaced = keepReplaced
        self.stateDirectory = stateDirectory
    }

    /// What a restore did.
    public struct Outcome: Sendable {
        /// The writers' status after PostRestore.
        public var statuses: [WriterStatus]
        /// Where the data the restore replaced is kept (empty when it was removed).
        public var kept: [String]
    }

    /// Finishes or rolls back restores that were interrupted; one line per restore.
    public static func recoverInterrupted(stateDirectory: String) throws -> [String] {
        try RestoreRecovery.run(stateDirectory: stateDirectory).map(\.description)
    }

    /// Runs the restore. Throws when the files were not put back (then nothing changed).
    public func run(with client: QuiesceClient, report: @escaping @Sendable (JobEvent) -> Void) async throws -> Outcome {
        for line in try Self.recoverInterrupted(stateDirectory: stateDirectory) { report(.note(line)) }
        let session = try await client.createSession()
        let progress = try await session.progress()
        let printer = Task { for await step in progress { report(.step(step)) } }
        defer { printer.cancel() }
        let transaction: RestoreTransaction
        do {
            transaction = try await putBack(with: session, report: report)
        } catch {
            _ = try? await session.postRestore(succeeded: false)
            _ = try? await session.close()
            throw QuiesceError(.failed, "nothing was restored: \(error)")
        }
        try await session.postRestore(succeeded: true)
        // The status Close returns is the final one (after BackupShutdown; a failure stays).
        // Without it nobody knows how the writers took PostRestore: the replaced data is kept.
        let closed = try? await session.close()
        if closed == nil { report(.note("the session could not be closed: what the restore replaced is kept")) }
        let statuses = closed ?? []
        let failed = closed == nil || statuses.contains { $0.state == .failedAtPostRestore }
        let kept = try transaction.finish(keepReplaced: keepReplaced || failed)
        for path in kept { report(.note("what the restore replaced is kept in \(path)")) }
        return Outcome(statuses: statuses, kept: kept)
    }

    /// PreRestore, then every volume staged and swapped into place; on any failure what was
    /// swapped goes back before the error is thrown.
    private func putBack(with session: RequesterSession, report: @escaping @Sendable (JobEvent) -> Void) async throws -> RestoreTransaction {
        _ = try await session.gatherWriterMetadata()
        try await session.preRestore(plan.document, alternateLocation: plan.alternateLocation)
        let refused = try await session.writerStatus().filter { $0.lastEvent == .preRestore && $0.hasFailed }
        guard refused.isEmpty else {
            throw QuiesceError(.failed, "writer(s) refused PreRestore: " + refused.map { "\($0.name): \($0.message)" }.joined(separator: "; "))
        }
        let transaction = try RestoreTransaction(stateDirectory: stateDirectory)
        do {
            try await stage(in: transaction, report: report)
            // The coordinator must still be there to tell the writers; else nothing is swapped.
            _ = try await session.writerStatus()
            try transaction.swap()
        } catch {
            do { try transaction.rollBack() } catch let rollBack { report(.note("could not roll back the restore: \(rollBack)")) }
            throw error
        }
        report(.note("swapped \(plan.volumes.count) volume(s) into place"))
        return transaction
    }

    private func stage(in transaction: RestoreTransaction, report: @escaping @Sendable (JobEvent) -> Void) async throws {
        let folder = try DirectoryHandle.openFollowing(plan.source)
        for volume in plan.volumes {
            let data = try folder.openDirectory(RelativePath(volume.dataPath)!)
            if let entries = volume.entries {
                report(.note("staging \(entries.count) entries of \(volume.target) from \(plan.source)/\(volume.dataPath)"))
                let reporter = CopyReporter(volume: volume.target, totals: nil, report: report)
                reporter.finished(try await transaction.stageEntries(entries, removing: volume.removing, from: data, to: volume.target, progress: reporter.progress))
            } else {
                report(.note("staging \(volume.target) from \(plan.source)/\(volume.dataPath)"))
                let reporter = await CopyReporter.start(volume.target, source: data, report: report)
                let (staging, summary) = try await transaction.stageWhole(from: data, to: volume.target, progress: reporter.progress)
                reporter.finished(summary)
                report(.note(staging == .wholeDirectory ? "\(volume.target): the directory is swapped at once" : "\(volume.target) is a mount point: its top-level entries are swapped one by one"))
            }
        }
    }
}
