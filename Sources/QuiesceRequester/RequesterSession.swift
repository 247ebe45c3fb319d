import Quiesce
import QuiesceProtocol
import QuiesceBus

/// A step the coordinator reports while it works on a session (the `Progress` signal).
public struct SessionProgress: Sendable, Hashable {
    /// The step, e.g. `freeze`.
    public var phase: String
    /// What happened.
    public var message: String
    /// The same for programs: a writer's failure (writer, event, failure), or the end of a step
    /// sent to writers (event, writers, failed, elapsed microseconds).
    public var details: Session1.ProgressDetails

    /// Creates a report.
    public init(phase: String, message: String, details: Session1.ProgressDetails = Session1.ProgressDetails()) {
        self.phase = phase
        self.message = message
        self.details = details
    }
}

/// What DoSnapshotSet made.
public struct SnapshotSetResult: Sendable, Hashable {
    /// The snapshot set's id.
    public var id: String
    /// By volume, the directory holding its snapshot.
    public var snapshots: [String: String]
}

/// A backup session on the coordinator, stepped through the sequence by its creator. Every
/// method throws `QuiesceError`: the coordinator's `org.quiesce.Error.*`, a timeout, or a
/// coordinator that stopped.
public struct RequesterSession: Sendable {
    /// The session's object path.
    public let path: String
    private let connection: BusConnection

    init(connection: BusConnection, path: String) {
        self.connection = connection
        self.path = path
    }

    /// Progress reports of the session; subscribe before starting a long step.
    public func progress() async throws -> AsyncStream<SessionProgress> {
        let (stream, continuation) = AsyncStream<SessionProgress>.makeStream()
        let subscription = try await connection.subscribe(
            sender: BusNames.coordinator, interface: Session1.name, member: Session1.Signal.progress.rawValue, path: path
        ) { signal in
            guard signal.arguments.count >= 2, let phase = signal.arguments[0].stringValue, let message = signal.arguments[1].stringValue
            else { return }
            let details = signal.arguments.count > 2 ? (try? Session1.ProgressDetails(busValue: signal.arguments[2])) : nil
            continuation.yield(SessionProgress(phase: phase, message: message, details: details ?? Session1.ProgressDetails()))
        }
        continuation.onTermination = { _ in subscription.cancel() }
        return stream
    }

    /// Sends each progress report to `report` as `[phase] message` until the task is cancelled;
    /// `nil` when the signal cannot be subscribed to (the session goes on without it).
    func forwardProgress(to report: @escaping @Sendable (JobEvent) -> Void) async -> Task<Void, Never>? {
        guard let progress = try? await progress() else { return nil }
        return Task { for await step in progress { report(.step(step)) } }
    }

    /// Identify to every writer; their metadata.
    public func gatherWriterMetadata() async throws -> [WriterMetadata] {
        try await proxy.gatherWriterMetadata()
    }

    /// Adds volumes (absolute directory paths) to the snapshot set.
    public func addVolumes(_ volumes: [String]) async throws {
        try await proxy.addVolumes(volumes)
    }

    /// Selects components explicitly, as (writer name, component full path) pairs.
    public func selectComponents(_ components: [(writer: String, component: String)]) async throws {
        try await proxy.selectComponents(components)
    }

    /// Marks writers (component `nil`) or components required or optional.
    public func setWriterPolicy(_ rules: [(writer: String, component: String?, policy: WriterPolicy)]) async throws {
        try await proxy.setWriterPolicy(rules.map { (writer: $0.writer, component: $0.component ?? "", policy: $0.policy) })
    }

    /// PrepareForBackup to the writers with selected components.
    public func prepareForBackup(type: BackupType = .full) async throws {
        try await proxy.prepareForBackup(Session1.PrepareForBackupOptions(backupType: type))
    }

    /// Creates the snapshot set: PrepareForSnapshot, Freeze, snapshot, Thaw, PostSnapshot.
    public func doSnapshotSet(provider: String? = nil) async throws -> SnapshotSetResult {
        let result = try await proxy.doSnapshotSet(Session1.DoSnapshotSetOptions(provider: provider))
        return SnapshotSetResult(id: result.snapshotSetId ?? "", snapshots: result.snapshots ?? [:])
    }

    /// Tells the writers the requester has copied the data out.
    public func backupComplete(succeeded: Bool) async throws {
        try await proxy.backupComplete(succeeded)
    }

    /// Keeps the snapshot set after Close for `duration` (1 second to 366 days), if the backup
    /// completes with `succeeded` true; ``QuiesceClient/keptSnapshotSets()`` lists it then.
    public func keepSnapshotSet(for duration: Duration) async throws {
        try await proxy.keepSnapshotSet(UInt64(max(0, duration.components.seconds)))
    }

    /// Abandons the backup; writers sent PrepareForSnapshot and not yet BackupComplete get Abort.
    public func abortBackup() async throws {
        try await proxy.abortBackup()
    }

    /// Every identified writer's status in this session.
    public func writerStatus() async throws -> [WriterStatus] {
        try await proxy.getWriterStatus()
    }

    /// Asks every writer whether it is still there, then returns the status.
    public func gatherWriterStatus() async throws -> [WriterStatus] {
        try await proxy.gatherWriterStatus()
    }

    /// Starts a restore from a backup document: PreRestore to its writers on the bus. With an
    /// alternate location, the volumes go below it and the writers are told so.
    public func preRestore(_ document: BackupDocument, alternateLocation: String? = nil) async throws {
        try await proxy.preRestore(try Wire.jsonText(document), options: Session1.PreRestoreOptions(alternateLocation: alternateLocation))
    }

    /// The files are back: PostRestore to the writers that accepted PreRestore.
    public func postRestore(succeeded: Bool) async throws {
        try await proxy.postRestore(Session1.PostRestoreOptions(succeeded: succeeded))
    }

    /// The backup document as the session stands.
    public func backupDocument() async throws -> BackupDocument {
        try await proxy.getBackupDocument()
    }

    /// Ends the session: BackupShutdown, and the snapshot set is removed. Returns the writer
    /// status after BackupShutdown.
    @discardableResult
    public func close() async throws -> [WriterStatus] {
        try await proxy.close()
    }

    /// `org.quiesce.Session1` of this session, through calls that notice a stopped coordinator.
    private var proxy: Session1Proxy {
        Session1Proxy { [connection, path] method, arguments, timeout in
            try await connection.callCoordinator(path: path, interface: Session1.name, method: method, arguments: arguments, timeout: timeout)
        }
    }
}
