import Quiesce
import QuiesceBus

/// A step the coordinator reports while it works on a session (the `Progress` signal).
public struct SessionProgress: Sendable, Hashable {
    /// The step, e.g. `freeze`.
    public var phase: String
    /// What happened.
    public var message: String
}

/// What DoSnapshotSet made.
public struct SnapshotSetResult: Sendable, Hashable {
    /// The snapshot set's id.
    public var id: String
    /// By volume, the directory holding its snapshot.
    public var snapshots: [String: String]
}

/// A backup session on the coordinator, stepped through the sequence by its creator.
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
            sender: BusNames.coordinator, interface: BusNames.sessionInterface, member: "Progress", path: path
        ) { signal in
            guard signal.arguments.count == 2, let phase = signal.arguments[0].stringValue, let message = signal.arguments[1].stringValue
            else { return }
            continuation.yield(SessionProgress(phase: phase, message: message))
        }
        continuation.onTermination = { _ in subscription.cancel() }
        return stream
    }

    /// Identify to every writer; their metadata.
    public func gatherWriterMetadata() async throws -> [WriterMetadata] {
        let reply = try await call("GatherWriterMetadata")
        return try JSONCoding.decode([WriterMetadata].self, from: reply.first?.stringValue ?? "[]")
    }

    /// Adds volumes (absolute directory paths) to the snapshot set.
    public func addVolumes(_ volumes: [String]) async throws {
        _ = try await call("AddVolumes", [.strings(volumes)])
    }

    /// Selects components explicitly, as (writer name, component full path) pairs.
    public func selectComponents(_ components: [(writer: String, component: String)]) async throws {
        let pairs = components.map { BusValue.structure([.string($0.writer), .string($0.component)]) }
        _ = try await call("SelectComponents", [.array(elementType: "(ss)", pairs)])
    }

    /// Marks writers (component `nil`) or components required or optional.
    public func setWriterPolicy(_ rules: [(writer: String, component: String?, policy: WriterPolicy)]) async throws {
        let rows = rules.map { BusValue.structure([.string($0.writer), .string($0.component ?? ""), .string($0.policy.rawValue)]) }
        _ = try await call("SetWriterPolicy", [.array(elementType: "(sss)", rows)])
    }

    /// PrepareForBackup to the writers with selected components.
    public func prepareForBackup(type: BackupType = .full) async throws {
        _ = try await call("PrepareForBackup", [.vardict(["backup-type": .string(type.rawValue)])])
    }

    /// Creates the snapshot set: PrepareForSnapshot, Freeze, snapshot, Thaw, PostSnapshot.
    public func doSnapshotSet(provider: String? = nil) async throws -> SnapshotSetResult {
        var options: [String: BusValue] = [:]
        if let provider { options["provider"] = .string(provider) }
        let reply = try await call("DoSnapshotSet", [.vardict(options)], timeout: nil)
        let result = reply.first?.stringKeyedDictionary ?? [:]
        var snapshots: [String: String] = [:]
        if case .dictionary(_, _, let entries) = result["snapshots"] ?? .vardict([:]) {
            for entry in entries {
                if let volume = entry.key.stringValue, let path = entry.value.stringValue { snapshots[volume] = path }
            }
        }
        return SnapshotSetResult(id: result["snapshot-set-id"]?.stringValue ?? "", snapshots: snapshots)
    }

    /// Tells the writers the requester has copied the data out.
    public func backupComplete(succeeded: Bool) async throws {
        _ = try await call("BackupComplete", [.bool(succeeded)])
    }

    /// Abandons the backup; writers sent PrepareForSnapshot get Abort.
    public func abortBackup() async throws {
        _ = try await call("AbortBackup")
    }

    /// Every identified writer's status in this session.
    public func writerStatus() async throws -> [WriterStatus] {
        let reply = try await call("GetWriterStatus")
        return try JSONCoding.decode([WriterStatus].self, from: reply.first?.stringValue ?? "[]")
    }

    /// Asks every writer whether it is still there, then returns the status.
    public func gatherWriterStatus() async throws -> [WriterStatus] {
        let reply = try await call("GatherWriterStatus")
        return try JSONCoding.decode([WriterStatus].self, from: reply.first?.stringValue ?? "[]")
    }

    /// Starts a restore from a backup document: PreRestore to its writers on the bus. With an
    /// alternate location, the volumes go below it and the writers are told so.
    public func preRestore(_ document: BackupDocument, alternateLocation: String? = nil) async throws {
        var options: [String: BusValue] = [:]
        if let alternateLocation { options["alternate-location"] = .string(alternateLocation) }
        _ = try await call("PreRestore", [.string(try JSONCoding.encode(document)), .vardict(options)])
    }

    /// The files are back: PostRestore to the writers that accepted PreRestore.
    public func postRestore(succeeded: Bool) async throws {
        _ = try await call("PostRestore", [.vardict(["succeeded": .bool(succeeded)])])
    }

    /// The backup document as the session stands.
    public func backupDocument() async throws -> BackupDocument {
        let reply = try await call("GetBackupDocument")
        return try JSONCoding.decode(BackupDocument.self, from: reply.first?.stringValue ?? "{}")
    }

    /// Ends the session: BackupShutdown, and the snapshot set is removed. Returns the writer
    /// status after BackupShutdown.
    @discardableResult
    public func close() async throws -> [WriterStatus] {
        let reply = try await call("Close", timeout: .seconds(120))
        return try JSONCoding.decode([WriterStatus].self, from: reply.first?.stringValue ?? "[]")
    }

    private func call(_ method: String, _ arguments: [BusValue] = [], timeout: Duration? = .seconds(300)) async throws -> [BusValue] {
        try await connection.callCoordinator(path: path, interface: BusNames.sessionInterface, method: method, arguments: arguments, timeout: timeout)
    }
}
