import Foundation
import QuiesceFiles

/// A backup whose data another tool copies (restic, borg, tar): the snapshot set is made with
/// the writers' cooperation and held while the command runs; the command's exit status is the
/// backup's result (BackupComplete's `succeeded`, VSS's SetBackupSucceeded).
///
/// The command gets, in its environment: `QUIESCE_DOCUMENT` (the backup document's file, written
/// before it starts and again with the final status after), `QUIESCE_SNAPSHOT_SET_ID`,
/// `QUIESCE_SNAPSHOTS` (a JSON object: volume → where its snapshot is read), `QUIESCE_VOLUMES`
/// (one per line) and `QUIESCE_SNAPSHOTS_MOUNTED` (`1` when each snapshot is mounted read-only
/// over its volume for the command, `0` when the command must read the snapshot paths).
public struct ExecBackupJob: Sendable {
    /// The volumes (absolute directory paths) to back up.
    public var volumes: [String]
    /// The program and its arguments.
    public var command: [String]
    /// Where the backup document is written (a new file); `nil`: a private temporary file,
    /// removed afterwards.
    public var documentPath: String?
    /// The kind of backup.
    public var backupType: BackupType
    /// The snapshot provider; the coordinator's default when `nil`.
    public var provider: String?
    /// Writers marked required or optional (unmarked writers are optional).
    public var policies: [String: WriterPolicy]
    /// How long to wait for another backup's snapshot to finish (`Busy`) before failing: two
    /// runs of a timer that collide wait for each other.
    public var busyWait: Duration

    /// What the run ended with.
    public struct Outcome: Sendable {
        /// The final backup document.
        public var document: BackupDocument
        /// The command's exit status (128 + the signal's number when a signal ended it).
        public var commandStatus: Int32
        /// Whether the snapshots were mounted over the volumes for the command.
        public var mountedSnapshots: Bool
    }

    /// Describes a backup through `command`.
    public init(
        volumes: [String], command: [String], documentPath: String? = nil, backupType: BackupType = .full, provider: String? = nil,
        policies: [String: WriterPolicy] = [:], busyWait: Duration = .seconds(600)
    ) {
        self.busyWait = busyWait
        self.volumes = volumes
        self.command = command
        self.documentPath = documentPath
        self.backupType = backupType
        self.provider = provider
        self.policies = policies
    }

    /// Runs the backup; `report` receives one line per step. Throws when no snapshot set could
    /// be made (the command did not run).
    public func run(with client: QuiesceClient, report: @escaping @Sendable (JobEvent) -> Void) async throws -> Outcome {
        guard let program = command.first, program.hasPrefix("/") || !program.contains("/") else {
            throw QuiesceError(.invalidArgument, "the command must be a program name or an absolute path")
        }
        let session = try await client.createSession()
        let printer = await session.forwardProgress(to: report)
        defer { printer?.cancel() }
        let documentFile: DocumentFile
        let set: SnapshotSetResult
        do {
            documentFile = try DocumentFile(path: documentPath)
            let steps = SnapshotSteps(volumes: volumes, backupType: backupType, provider: provider, policies: policies, busyWait: busyWait)
            set = try await steps.run(session, report: report).set
            try documentFile.write(try await session.backupDocument())
        } catch {
            report(.note("no snapshot set: \(error)"))
            try? await session.abortBackup()
            _ = try? await session.close()
            throw error
        }
        let line = SnapshotCommandLine(command: command, snapshots: set.snapshots)
        report(.note(line.mountsSnapshots
            ? "running \(command.joined(separator: " ")) with each snapshot mounted read-only over its volume"
            : "running \(command.joined(separator: " ")) (not root: the snapshots are not mounted over the volumes; read them at $QUIESCE_SNAPSHOTS)"))
        var status: Int32 = 1
        do {
            var environment = try line.environment(setId: set.id, snapshots: set.snapshots)
            environment["QUIESCE_DOCUMENT"] = documentFile.path
            status = try await line.run(environment: environment)
            report(.note("\(program) exited with \(status)"))
        } catch {
            report(.note("\(program) could not run: \(error)"))
        }
        do {
            try await session.backupComplete(succeeded: status == 0)
            let document = try await session.backupDocument()
            try documentFile.write(document)
            try await session.close()
            documentFile.removeIfTemporary()
            return Outcome(document: document, commandStatus: status, mountedSnapshots: line.mountsSnapshots)
        } catch {
            _ = try? await session.close()
            documentFile.removeIfTemporary()
            throw error
        }
    }
}

/// The backup document's file for an `--exec` backup: the path given (created `0600`, never
/// over an existing file), or a private temporary file.
private struct DocumentFile: Sendable {
    let path: String
    let temporaryDirectory: String?

    init(path: String?) throws {
        if let path {
            guard path.hasPrefix("/") else { throw QuiesceError(.invalidArgument, "the document path \(path) must be absolute") }
            guard !FileManager.default.fileExists(atPath: path) else {
                throw QuiesceError(.invalidArgument, "\(path) exists; the backup document is written to a new file (nothing is overwritten)")
            }
            self.path = path
            temporaryDirectory = nil
        } else {
            let base = NSTemporaryDirectory().hasSuffix("/") ? String(NSTemporaryDirectory().dropLast()) : NSTemporaryDirectory()
            var template = Array((base + "/quiesce-exec-XXXXXX").utf8CString)
            guard let directory = template.withUnsafeMutableBufferPointer({ buffer in mkdtemp(buffer.baseAddress!).map { String(cString: $0) } }) else {
                throw QuiesceError(.failed, "cannot create a temporary directory for the backup document")
            }
            self.path = directory + "/backup.json"
            temporaryDirectory = directory
        }
    }

    func write(_ document: BackupDocument) throws {
        let text = try JSONCoding.encode(document, pretty: true) + "\n"
        let directory = String(path[..<path.lastIndex(of: "/")!])
        let name = String(path[path.index(after: path.lastIndex(of: "/")!)...])
        guard let file = FileName(name) else { throw QuiesceError(.invalidArgument, "\(path) is not a file name") }
        try DirectoryHandle.open(absolute: directory.isEmpty ? "/" : directory).writeFileAtomically(file, Array(text.utf8))
    }

    func removeIfTemporary() {
        guard let temporaryDirectory else { return }
        try? FileManager.default.removeItem(atPath: temporaryDirectory)
    }
}
