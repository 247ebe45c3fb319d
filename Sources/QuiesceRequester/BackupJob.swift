import Foundation
import Quiesce
import QuiesceProtocol
import QuiesceBus
import QuiesceFiles

/// A whole backup, the way `quiescectl backup` makes one: a session through every step, the
/// data copied out of the snapshot set into `destination/data/`, and the backup document
/// written beside it as `destination/backup.json`; with a ``RetryPolicy``, failed attempts are
/// retried as the failing writers' codes advise.
public struct BackupJob: Sendable {
    /// The volumes (absolute directory paths) to back up.
    public var volumes: [String]
    /// An empty or missing directory that receives the backup (absolute, reached without
    /// symlinks, not inside a volume); made `0700` when missing.
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
    public func run(with client: QuiesceClient, report: @escaping @Sendable (JobEvent) -> Void) async throws -> BackupDocument {
        if let volume = volumes.first(where: { PathRules.contains($0, destination) }) {
            throw QuiesceError(.failed, "\(destination) is inside the volume \(volume): the backup would copy itself; choose a directory elsewhere")
        }
        let target = try BackupDestination(destination)
        do {
            return try await attempts(client, into: target, report: report)
        } catch {
            do {
                try target.discard()
                report(.note("removed the partial backup from \(destination)"))
            } catch let cleanup {
                report(.note("the partial backup in \(destination) could not be removed: \(cleanup)"))
            }
            throw error
        }
    }

    private func attempts(_ client: QuiesceClient, into target: BackupDestination, report: @escaping @Sendable (JobEvent) -> Void) async throws -> BackupDocument {
        let restarter = WriterRestarter(connection: client.connection, commands: restartCommands)
        var volumes = self.volumes
        var retryableFailures: [String: Int] = [:]
        var restarted: Set<String> = []
        var attemptNumber = 1
        while true {
            let attempt = await runOnce(client, volumes: volumes, into: target, report: report)
            let failing = attempt.statuses.filter(\.hasFailed)
            let busy = attempt.error.map { QuiesceError($0).code == .busy } ?? false
            guard let policy = retry, failing.isEmpty == false || busy, attemptNumber <= policy.maxRetries else {
                return try finish(attempt)
            }
            var pause: Duration = .zero
            var actionable = false
            if busy {
                pause = policy.backoff(attempt: attemptNumber)
                report(.note("retry policy: another backup is taking its snapshot (Busy): waiting \(pause) and trying again"))
                actionable = true
            }
            for status in failing {
                if status.failure == .retryable { retryableFailures[status.name, default: 0] += 1 }
                let decision = policy.decide(
                    status, metadata: attempt.metadata.first { $0.name == status.name }, volumes: volumes,
                    attempt: attemptNumber, retryableFailures: retryableFailures[status.name] ?? 0, restarted: restarted.contains(status.name)
                )
                report(.note("retry policy: \(decision)"))
                switch decision.action {
                case .giveUp:
                    continue
                case .retry(let after):
                    pause = max(pause, after)
                case .addVolumes(let added):
                    // A volume holding the destination would make the backup copy itself.
                    if let holding = added.first(where: { PathRules.contains($0, destination) }) {
                        report(.note("retry policy: cannot add \(holding): it holds the destination \(destination); giving up on \(status.name)"))
                        continue
                    }
                    volumes += added.filter { !volumes.contains($0) }
                case .restartWriter:
                    do {
                        report(.note("retry policy: \(try await restarter.restart(writer: status.name))"))
                        restarted.insert(status.name)
                    } catch {
                        report(.note("retry policy: cannot restart \(status.name): \(error); giving up on it"))
                        continue
                    }
                }
                actionable = true
            }
            guard actionable else { return try finish(attempt) }
            attemptNumber += 1
            report(.note("retry policy: attempt \(attemptNumber) of \(policy.maxRetries + 1)" + (pause > .zero ? " in \(pause)" : "")))
            try await Task.sleep(for: pause)
            try target.empty()
        }
    }

    private func finish(_ attempt: Attempt) throws -> BackupDocument {
        if let document = attempt.document { return document }
        throw attempt.error ?? QuiesceError(.failed, "no backup was made")
    }

    private func runOnce(_ client: QuiesceClient, volumes: [String], into target: BackupDestination, report: @escaping @Sendable (JobEvent) -> Void) async -> Attempt {
        var attempt = Attempt()
        let session: RequesterSession
        do {
            session = try await client.createSession()
        } catch {
            attempt.error = error
            return attempt
        }
        let printer = await session.forwardProgress(to: report)
        defer { printer?.cancel() }
        do {
            let steps = SnapshotSteps(volumes: volumes, backupType: backupType, provider: provider, policies: policies)
            attempt.metadata = try await steps.run(session, report: report).metadata
            attempt.document = try await copyOut(session, into: target, report: report)
            attempt.statuses = try await session.writerStatus()
            try await session.close()
        } catch {
            report(.note("attempt failed: \(error)"))
            attempt.error = error
            attempt.statuses = (try? await session.writerStatus()) ?? []
            try? await session.abortBackup()
            _ = try? await session.close()
        }
        return attempt
    }

    /// Copies every volume out of the snapshot set, completes the backup and writes the document.
    private func copyOut(_ session: RequesterSession, into target: BackupDestination, report: @escaping @Sendable (JobEvent) -> Void) async throws -> BackupDocument {
        var document = try await session.backupDocument()
        var copyError: (any Error)?
        do {
            let data = FileName("data")!
            try target.handle.makeDirectory(data)
            let dataDirectory = try target.handle.openDirectory(data)
            for index in (document.snapshotSet?.volumes ?? []).indices {
                let volume = document.snapshotSet!.volumes[index]
                guard let name = volume.snapshotPath.split(separator: "/").last.flatMap({ FileName(String($0)) }) else {
                    throw QuiesceError(.failed, "the coordinator gave the snapshot of \(volume.volume) no usable path (\(volume.snapshotPath.debugDescription))")
                }
                let relative = "data/\(name)"
                report(.note("copying \(volume.volume) from the snapshot to \(destination)/\(relative)"))
                let source = try DirectoryHandle.open(absolute: volume.snapshotPath)
                try dataDirectory.makeDirectory(name)
                let reporter = await CopyReporter.start(volume.volume, source: source, report: report)
                let copier = TreeCopy(progressInterval: .milliseconds(250))
                reporter.finished(try await copier.copyContents(of: source, into: try dataDirectory.openDirectory(name), progress: reporter.progress))
                document.snapshotSet!.volumes[index].dataPath = relative
            }
        } catch {
            report(.note("\(error)"))
            copyError = error
        }
        try await session.backupComplete(succeeded: copyError == nil)
        if let copyError { throw QuiesceError(.failed, "the data could not be copied out of the snapshot set: \(copyError)") }

        // The status after BackupComplete, so that a writer failing it shows in the document.
        document.writers = try await session.backupDocument().writers
        let text = try JSONCoding.encode(document, pretty: true)
        try target.handle.writeFileAtomically(FileName(Self.documentName)!, Array((text + "\n").utf8))
        report(.note("backup document written to \(destination)/\(Self.documentName)"))
        return document
    }
}
