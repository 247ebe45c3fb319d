import Quiesce
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
        let reply = try await callCoordinator("ListWriters")
        return (reply.first?.elements ?? []).compactMap { row in
            guard let fields = row.elements?.compactMap(\.stringValue), fields.count == 5 else { return nil }
            return WriterSummary(name: fields[0], classId: fields[1], instanceId: fields[2], state: fields[3], lastError: fields[4])
        }
    }

    /// The coordinator's snapshot providers: which can serve on its machine, and why not.
    public func listProviders() async throws -> [ProviderSummary] {
        let reply = try await callCoordinator("ListProviders")
        return (reply.first?.elements ?? []).compactMap { row in
            guard let fields = row.elements, fields.count == 3, let name = fields[0].stringValue, let available = fields[1].boolValue,
                let detail = fields[2].stringValue
            else { return nil }
            return ProviderSummary(name: name, available: available, detail: detail)
        }
    }

    /// Creates a backup session owned by this connection.
    public func createSession() async throws -> RequesterSession {
        let reply = try await callCoordinator("CreateSession", [.vardict([:])])
        guard let path = reply.first?.stringValue else {
            throw BusError(name: BusError.failed, message: "CreateSession returned no session")
        }
        return RequesterSession(connection: connection, path: path)
    }

    /// The open sessions, with their phase and owner.
    public func listSessions() async throws -> [SessionSummary] {
        let reply = try await connection.callCoordinator(
            path: BusNames.coordinatorPath, interface: "org.freedesktop.DBus.Properties",
            method: "Get", arguments: [.string(BusNames.coordinatorInterface), .string("Sessions")]
        )
        var sessions: [SessionSummary] = []
        for path in reply.first?.stringArray ?? [] {
            // A session may close between the two calls: it is simply not listed.
            guard let properties = try? await connection.callCoordinator(
                path: path, interface: "org.freedesktop.DBus.Properties",
                method: "GetAll", arguments: [.string(BusNames.sessionInterface)]
            ).first?.stringKeyedDictionary else { continue }
            let text = { (key: String) in properties[key]?.stringValue ?? "" }
            sessions.append(SessionSummary(id: text("Id"), path: path, phase: text("Phase"), owner: text("Owner"), snapshotSetId: text("SnapshotSetId")))
        }
        return sessions
    }

    /// A session by object path (to read its status; only its creator may drive it).
    public func session(at path: String) -> RequesterSession {
        RequesterSession(connection: connection, path: path)
    }

    private func callCoordinator(_ method: String, _ arguments: [BusValue] = []) async throws -> [BusValue] {
        try await connection.callCoordinator(path: BusNames.coordinatorPath, interface: BusNames.coordinatorInterface, method: method, arguments: arguments)
    }
}
