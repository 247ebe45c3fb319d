import Logging
import Quiesce
import QuiesceBus

/// The writers on the bus: every name `org.quiesce.Writer.*` and its current owner, kept up to
/// date from NameOwnerChanged as writers come and go.
actor WriterDirectory {
    /// A writer on the bus.
    struct Entry: Sendable, Hashable {
        /// The writer's name (the last element of its bus name).
        var name: String
        /// The unique name of the connection that owns the writer's bus name.
        var owner: String
    }

    private let connection: BusConnection
    private let logger: Logger
    private var owners: [String: String] = [:]
    private var follower: Task<Void, Never>?
    private var onLeft: @Sendable (String) async -> Void = { _ in }

    /// Calls `handler` with the unique name of every writer connection that leaves the bus.
    func onWriterLeft(_ handler: @escaping @Sendable (String) async -> Void) {
        onLeft = handler
    }

    init(connection: BusConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Starts following the bus, then lists the writers already on it.
    func start() async throws {
        let changes = try await connection.nameOwnerChanges(of: .namespace(String(BusNames.writerPrefix.dropLast())))
        follower = Task { [weak self] in
            for await change in changes {
                await self?.apply(change)
            }
        }
        for name in try await connection.listNames() where name.hasPrefix(BusNames.writerPrefix) {
            if owners[name] == nil, let owner = try? await connection.nameOwner(name) {
                owners[name] = owner
            }
        }
        logger.info("found \(owners.count) writer(s) on the bus")
    }

    func stop() {
        follower?.cancel()
    }

    private func apply(_ change: NameOwnerChange) {
        guard change.name.hasPrefix(BusNames.writerPrefix) else { return }
        if let owner = change.newOwner {
            if owners[change.name] != owner { logger.info("writer appeared: \(change.name) (\(owner))") }
            owners[change.name] = owner
        } else if let owner = owners.removeValue(forKey: change.name) {
            logger.info("writer left: \(change.name)")
            let onLeft = self.onLeft
            Task { await onLeft(owner) }
        }
    }

    /// The writers on the bus now, sorted by name.
    var writers: [Entry] {
        owners.map { Entry(name: String($0.key.dropFirst(BusNames.writerPrefix.count)), owner: $0.value) }
            .sorted { $0.name < $1.name }
    }
}
