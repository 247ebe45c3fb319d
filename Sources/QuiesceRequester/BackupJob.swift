import Foundation
import Quiesce

/// A whole backup, the way `quiescectl backup` makes one: a session through every step, the
/// data copied out of the snapshot set into `destination/data/`, and the backup document
/// written beside it as `destination/backup.json`.
public struct BackupJob: Sendable {
    /// The volumes (absolute directory paths) to back up.
    public var volumes: [String]
    /// An empty or missing directory that receives the backup.
    public var destination: String
    /// The kind of backup.
    public var backupType: BackupType
    /// The snapshot provider; the coordinator's default when `nil`.
    public var provider: String?

    /// The document's file name inside the destination.
    public static let documentName = "backup.json"

    /// Describes a backup.
    public init(volumes: [String], destination: String, backupType: BackupType = .full, provider: String? = nil) {
        self.volumes = volumes
        self.destination = destination
        self.backupType = backupType
        self.provider = provider
    }

    /// Why a backup could not be made.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// What went wrong.
        public var description: String
    }

    /// Runs the backup; `report` receives one line per step. Returns the document written, or
    /// throws when no backup could be made (the session is aborted and closed first).
    public func run(with client: QuiesceClient, report: @escaping @Sendable (String) -> Void) async throws -> BackupDocument {
        try prepareDestination()
        let session = try await client.createSession()
        let progress = try await session.progress()
        let printer = Task {
            for await step in progress { report("[\(step.phase)] \(step.message)") }
        }
        defer { printer.cancel() }
        do {
            let document = try await steps(session, report: report)
            try await session.close()
            return document
        } catch {
            report("backup failed: \(error); aborting the session")
            try? await session.abortBackup()
            try? await session.close()
            throw error
        }
    }

    private func steps(_ session: RequesterSession, report: @escaping @Sendable (String) -> Void) async throws -> BackupDocument {
        let writers = try await session.gatherWriterMetadata()
        report("\(writers.count) writer(s): \(writers.map(\.name).joined(separator: ", "))")
        try await session.addVolumes(volumes)
        try await session.prepareForBackup(type: backupType)
        let snapshotSet = try await session.doSnapshotSet(provider: provider)
        report("snapshot set \(snapshotSet.id) is ready")

        var document = try await session.backupDocument()
        var copied = true
        for index in (document.snapshotSet?.volumes ?? []).indices {
            let volume = document.snapshotSet!.volumes[index]
            let relative = "data/" + URL(fileURLWithPath: volume.snapshotPath).lastPathComponent
            report("copying \(volume.volume) from the snapshot to \(destination)/\(relative)")
            do {
                try await DirectoryCopy.copyContents(of: volume.snapshotPath, to: destination + "/" + relative)
                document.snapshotSet!.volumes[index].dataPath = relative
            } catch {
                report("\(error)")
                copied = false
            }
        }
        try await session.backupComplete(succeeded: copied)
        guard copied else { throw Failure(description: "the data could not be copied out of the snapshot set") }

        // The status after BackupComplete, so that a writer failing it shows in the document.
        let finalDocument = try await session.backupDocument()
        document.writers = finalDocument.writers
        try write(document)
        report("backup document written to \(destination)/\(Self.documentName)")
        return document
    }

    private func prepareDestination() throws {
        let manager = FileManager.default
        if manager.fileExists(atPath: destination) {
            let contents = (try? manager.contentsOfDirectory(atPath: destination)) ?? ["?"]
            guard contents.isEmpty else {
                throw Failure(description: "\(destination) is not an empty directory; choose a new one (nothing is overwritten)")
            }
        }
        try manager.createDirectory(atPath: destination, withIntermediateDirectories: true)
    }

    private func write(_ document: BackupDocument) throws {
        let text = try JSONCoding.encode(document, pretty: true)
        try (text + "\n").write(toFile: destination + "/" + Self.documentName, atomically: true, encoding: .utf8)
    }
}
