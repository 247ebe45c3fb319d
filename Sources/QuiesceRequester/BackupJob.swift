import Foundation
import Quiesce
import QuiesceCopy

/// A whole backup, the way `quiescectl backup` makes one: a session through every step, the
/// data copied out of the snapshot set into `destination/data/`, and the backup document
/// written beside it as `destination/backup.json`; with a ``RetryPolicy``, failed attempts are
/// retried as the failing writers' codes advise.
public struct BackupJob: Sendable {
    /// The volumes (absolute directory paths) to back up.
    public var volumes: [String]
    /// An empty or missing directory that receives the backup.
    public var destination: String
    /// The kind of backup.
    public var backupType: BackupType
    /// The snapshot provider; the coordinator's default when `nil`.
    public var provider: String?
    /// Writers marked required or optional (unmarked writers are optional).
    public var policies: [String: WriterPolicy]
    /// How to retry; `nil` makes one attempt.
    public var retry: RetryPolicy?
    /// Commands that restart a writer's service, by writer (else its systemd unit is restarted).
    public var restartCommands: [String: [String]]

    /// The document's file name inside the destination.
    public static let documentName = "backup.json"

    /// Describes a backup.
    public init(
        volumes: [String],
        destination: String,
        backupType: BackupType = .full,
        provider: String? = nil,
        policies: [String: WriterPolicy] = [:],
        retry: RetryPolicy? = nil,
        restartCommands: [String: [String]] = [:]
    ) {
        self.volumes = volumes
        self.destination = destination
        self.backupType = backupType
        self.provider = provider
        self.policies = policies
        self.retry = retry
        self.restartCommands = restartCommands
    }

    /// Why a backup could not be made.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// What went wrong.
        public var description: String
    }

    /// What one attempt left behind.
    private struct Attempt: Sendable {
        var document: BackupDocument?
        var statuses: [WriterStatus] = []
        var metadata: [WriterMetadata] = []
        var error: (any Error)?
    }

    /// Runs the backup, retrying as the policy says; `report` receives one line per step and per
    /// decision. Returns the document written (its outcome may be `partial`), or throws when no
    /// backup could be made.
    public func run(with client: QuiesceClient, report: @escaping @Sendable (String) -> Void) async throws -> BackupDocument {
        try prepareDestination()
        let restarter = WriterRestarter(connection: client.connection, commands: restartCommands)
        var volumes = self.volumes
        var retryableFailures: [String: Int] = [:]
        var restarted: Set<String> = []
        var attemptNumber = 1
        while true {
            let attempt = await runOnce(client, volumes: volumes, report: report)
            let failing = attempt.statuses.filter(\.hasFailed)
            if failing.isEmpty || retry == nil || attemptNumber > retry!.maxRetries {
                return try finish(attempt)
            }
            let policy = retry!
            var pause: Duration = .zero
            var actionable = false
            for status in failing {
                if status.failure == .retryable { retryableFailures[status.name, default: 0] += 1 }
                let decision = policy.decide(
                    status, metadata: attempt.metadata.first { $0.name == status.name }, volumes: volumes,
                    attempt: attemptNumber, retryableFailures: retryableFailures[status.name] ?? 0, restarted: restarted.contains(status.name)
                )
                report("retry policy: \(decision)")
                switch decision.action {
                case .giveUp:
                    continue
                case .retry(let after):
                    pause = max(pause, after)
                case .addVolumes(let added):
                    volumes += added.filter { !volumes.contains($0) }
                case .restartWriter:
                    do {
                        report("retry policy: \(try await restarter.restart(writer: status.name))")
                        restarted.insert(status.name)
                    } catch {
                        report("retry policy: cannot restart \(status.name): \(error); giving up on it")
                        continue
                    }
                }
                actionable = true
            }
            guard actionable else { return try finish(attempt) }
            attemptNumber += 1
            report("retry policy: attempt \(attemptNumber) of \(policy.maxRetries + 1)" + (pause > .zero ? " in \(pause)" : ""))
            try await Task.sleep(for: pause)
            try emptyDestination()
        }
    }

    private func finish(_ attempt: Attempt) throws -> BackupDocument {
        if let document = attempt.document { return document }
        throw attempt.error ?? Failure(description: "no backup was made")
    }

    private func runOnce(_ client: QuiesceClient, volumes: [String], report: @escaping @Sendable (String) -> Void) async -> Attempt {
        var attempt = Attempt()
        let session: RequesterSession
        do {
            session = try await client.createSession()
        } catch {
            attempt.error = error
            return attempt
        }
        let printer: Task<Void, Never>? = try? await {
            let progress = try await session.progress()
            return Task { for await step in progress { report("[\(step.phase)] \(step.message)") } }
        }()
        defer { printer?.cancel() }
        do {
            attempt.metadata = try await session.gatherWriterMetadata()
            report("\(attempt.metadata.count) writer(s): \(attempt.metadata.map(\.name).joined(separator: ", "))")
            let present = Set(attempt.metadata.map(\.name))
            if let missing = policies.filter({ $0.value == .required && !present.contains($0.key) }).keys.sorted().first {
                throw Failure(description: "required writer \(missing) is not on the bus")
            }
            let rules = policies.filter { present.contains($0.key) }.map { (writer: $0.key, component: String?.none, policy: $0.value) }
            if !rules.isEmpty { try await session.setWriterPolicy(rules) }
            try await session.addVolumes(volumes)
            try await session.prepareForBackup(type: backupType)
            let snapshotSet = try await session.doSnapshotSet(provider: provider)
            report("snapshot set \(snapshotSet.id) is ready")
            attempt.document = try await copyOut(session, report: report)
            attempt.statuses = try await session.writerStatus()
            try await session.close()
        } catch {
            report("attempt failed: \(error)")
            attempt.error = error
            attempt.statuses = (try? await session.writerStatus()) ?? []
            try? await session.abortBackup()
            _ = try? await session.close()
        }
        return attempt
    }

    /// Copies every volume out of the snapshot set, completes the backup and writes the document.
    private func copyOut(_ session: RequesterSession, report: @escaping @Sendable (String) -> Void) async throws -> BackupDocument {
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
        document.writers = try await session.backupDocument().writers
        let text = try JSONCoding.encode(document, pretty: true)
        try (text + "\n").write(toFile: destination + "/" + Self.documentName, atomically: true, encoding: .utf8)
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

    /// Removes what a failed attempt wrote (the destination was empty when the job started).
    private func emptyDestination() throws {
        for entry in try FileManager.default.contentsOfDirectory(atPath: destination) {
            try FileManager.default.removeItem(atPath: destination + "/" + entry)
        }
    }
}
