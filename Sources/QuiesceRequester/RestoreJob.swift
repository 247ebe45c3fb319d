import Foundation
import Quiesce
import QuiesceCopy

/// A whole restore, the way `quiescectl restore` makes one: PreRestore to the writers of the
/// backup, the files put back on their volumes, PostRestore.
public struct RestoreJob: Sendable {
    /// The folder a ``BackupJob`` wrote (it holds `backup.json` and `data/`).
    public var source: String

    /// Describes a restore from `source`.
    public init(source: String) {
        self.source = source
    }

    /// Why a restore could not be made.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// What went wrong.
        public var description: String
    }

    /// Runs the restore; returns the writers' status after PostRestore.
    public func run(with client: QuiesceClient, report: @escaping @Sendable (String) -> Void) async throws -> [WriterStatus] {
        let documentPath = source + "/" + BackupJob.documentName
        let document: BackupDocument
        do {
            document = try JSONCoding.decode(BackupDocument.self, from: String(contentsOfFile: documentPath, encoding: .utf8))
        } catch {
            throw Failure(description: "cannot read the backup document \(documentPath): \(error)")
        }
        guard document.outcome != .failed, let volumes = document.snapshotSet?.volumes, volumes.allSatisfy({ !$0.dataPath.isEmpty }) else {
            throw Failure(description: "\(documentPath) describes a backup that holds no data to restore")
        }
        let session = try await client.createSession()
        let progress = try await session.progress()
        let printer = Task { for await step in progress { report("[\(step.phase)] \(step.message)") } }
        defer { printer.cancel() }
        do {
            _ = try await session.gatherWriterMetadata()
            try await session.preRestore(document)
            let refused = try await session.writerStatus().filter { $0.lastEvent == .preRestore && $0.hasFailed }
            guard refused.isEmpty else {
                throw Failure(description: "writer(s) refused PreRestore: " + refused.map { "\($0.name): \($0.message)" }.joined(separator: "; "))
            }
            var copied = true
            for volume in volumes {
                report("putting \(volume.volume) back from \(source)/\(volume.dataPath)")
                do {
                    try await DirectoryCopy.copyContents(of: source + "/" + volume.dataPath, to: volume.volume)
                } catch {
                    report("\(error)")
                    copied = false
                }
            }
            try await session.postRestore(succeeded: copied)
            let status = try await session.writerStatus()
            try await session.close()
            guard copied else { throw Failure(description: "some files could not be put back") }
            return status
        } catch {
            _ = try? await session.close()
            throw error
        }
    }
}
