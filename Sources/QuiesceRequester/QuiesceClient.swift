import Quiesce
import QuiesceProtocol
import QuiesceBus

/// A backup program's connection to the coordinator.
public struct QuiesceClient: Sendable {
    /// The bus connection used.
    public let connection: BusConnection

    /// Uses an open connection.
    public init(connection: BusConnection) {
        self.connection = connection
    }

    /// Connects to `bus`.
    public static func connect(to bus: BusAddress) async throws -> QuiesceClient {
        QuiesceClient(connection: try await BusConnection.connect(to: bus))
    }

    /// Every writer on the bus with its state.
    public func listWriters() async throws -> [WriterSummary] {
        try await coordinator.listWriters().map {
            WriterSummary(name: $0.name, classId: $0.classId, instanceId: $0.instanceId, state: $0.state, lastError: $0.lastError)
        }
    }

    /// The coordinator's snapshot providers: which can serve on its machine, and why not.
    public func listProviders() async throws -> [ProviderSummary] {
        try await coordinator.listProviders().map { ProviderSummary(name: $0.name, available: $0.available, detail: $0.summary) }
    }

    /// The newest `count` closed sessions, newest first (root, the coordinator's user and its
    /// allowed group may read them).
    public func history(count: Int = 20) async throws -> [SessionRecord] {
        try await coordinator.listHistory(UInt32(clamping: count))
    }

    /// One closed session's record; `NotFound` once it has left the history.
    public func history(id: String) async throws -> SessionRecord {
        try await coordinator.getHistory(id)
    }

    /// The snapshot sets kept after their sessions, oldest first.
    public func keptSnapshotSets() async throws -> [KeptSnapshotSet] {
        try await coordinator.listSnapshotSets()
    }

    /// Deletes a kept snapshot set (its owner's uid and root only).
    public func deleteSnapshotSet(_ id: String) async throws {
        try await coordinator.deleteSnapshotSet(id)
    }

    /// Creates a backup session owned by this connection.
    public func createSession() async throws -> RequesterSession {
        RequesterSession(connection: connection, path: try await coordinator.createSession(Coordinator1.CreateSessionOptions()))
    }

    /// The open sessions, with their phase and owner.
    public func listSessions() async throws -> [SessionSummary] {
        let paths: [String]
        do {
            let reply = try await connection.callCoordinator(
                path: BusNames.coordinatorPath, interface: "org.freedesktop.DBus.Properties",
                method: "Get", arguments: [.string(Coordinator1.name), .string(Coordinator1.Property.sessions.rawValue)]
            )
            paths = try Wire.objectPaths(try Wire.argument(reply, 0), Coordinator1.Property.sessions.rawValue)
        } catch {
            throw QuiesceError(error)
        }
        var sessions: [SessionSummary] = []
        for path in paths {
            // A session may close between the two calls: it is simply not listed.
            guard let properties = try? await connection.callCoordinator(
                path: path, interface: "org.freedesktop.DBus.Properties",
                method: "GetAll", arguments: [.string(Session1.name)]
            ).first?.stringKeyedDictionary else { continue }
            let text = { (key: Session1.Property) in properties[key.rawValue]?.stringValue ?? "" }
            sessions.append(SessionSummary(id: text(.id), path: path, phase: SessionPhase(rawValue: text(.phase)), owner: text(.owner), snapshotSetId: text(.snapshotSetId)))
        }
        return sessions
    }

    /// A session by object path (to read its status; only its creator may drive it).
    public func session(at path: String) -> RequesterSession {
        RequesterSession(connection: connection, path: path)
    }

    /// `org.quiesce.Coordinator1` of quiesced, through calls that notice a stopped coordinator.
    private var coordinator: Coordinator1Proxy {
        Coordinator1Proxy { [connection] method, arguments, timeout in
            try await connection.callCoordinator(path: BusNames.coordinatorPath, interface: Coordinator1.name, method: method, arguments: arguments, timeout: timeout)
        }
    }
}
