import Logging
import Quiesce
import QuiesceProtocol
import QuiesceBus
import QuiesceServiceBus

/// The writers on the bus: every name `org.quiesce.Writer.*`, its current owner, and what
/// `ListWriters` shows of it (identity, state, last error), kept up to date from
/// NameOwnerChanged and from the writers' own PropertiesChanged signals. Listing the writers
/// therefore sends nothing to them: a flood of admin queries costs the writers nothing and
/// never queues behind, or in front of, a session's events. Writers the bus can start on demand
/// (a service file for their name, D-Bus activation) are listed as `not-running` until a session
/// starts them, as VSS starts writer services.
actor WriterDirectory {
    /// A writer on the bus.
    struct Entry: Sendable, Hashable {
        /// The writer's name (the last element of its bus name).
        var name: String
        /// The unique name of the connection that owns the writer's bus name.
        var owner: String
    }

    /// A writer the bus could not start, and the bus's reason.
    struct StartFailure: Sendable, Hashable {
        var name: String
        var message: String
    }

    /// The `ListWriters` state of a writer the bus can start and nobody runs now.
    static let notRunningState = "not-running"

    /// A writer as `ListWriters` shows it.
    struct Summary: Sendable, Hashable {
        var name: String
        var classId: String
        var instanceId: String
        var state: String
        var lastError: String
    }

    private let connection: ServingConnection
    private let logger: Logger
    /// Reads a writer's properties once (through the coordinator's bound on calls in flight).
    private let readProperties: @Sendable (String) async -> [String: BusValue]?
    private var owners: [String: String] = [:]
    /// Each writer connection's properties, from one GetAll when it appears and then its signals.
    private var properties: [String: [String: BusValue]] = [:]
    /// Writer connections whose properties could not be read.
    private var unreadable: Set<String> = []
    private var follower: Task<Void, Never>?
    private var propertyFollower: Task<Void, Never>?
    private var subscription: SignalSubscription?
    private var onLeft: @Sendable (String) async -> Void = { _ in }

    /// Calls `handler` with the unique name of every writer connection that leaves the bus.
    func onWriterLeft(_ handler: @escaping @Sendable (String) async -> Void) {
        onLeft = handler
    }

    init(connection: ServingConnection, logger: Logger, readProperties: @escaping @Sendable (String) async -> [String: BusValue]?) {
        self.connection = connection
        self.logger = logger
        self.readProperties = readProperties
    }

    /// Starts following the bus, then lists the writers already on it.
    func start() async throws {
        let (changed, continuation) = AsyncStream<BusSignal>.makeStream()
        subscription = try await connection.subscribe(
            interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged", path: BusNames.writerPath, arg0: Writer1.name
        ) { continuation.yield($0) }
        propertyFollower = Task { [weak self] in
            for await signal in changed { await self?.apply(signal) }
        }
        let changes = try await connection.nameOwnerChanges(of: .namespace(String(BusNames.writerPrefix.dropLast())))
        follower = Task { [weak self] in
            for await change in changes {
                await self?.apply(change)
            }
        }
        for name in try await connection.listNames() where BusNames.writerName(ofBusName: name) != nil {
            if owners[name] == nil, let owner = try? await connection.nameOwner(name) {
                appeared(name, owner: owner)
            }
        }
        logger.info("found \(owners.count) writer(s) on the bus")
    }

    func stop() {
        follower?.cancel()
        propertyFollower?.cancel()
        subscription?.cancel()
    }

    private func apply(_ change: NameOwnerChange) {
        guard BusNames.writerName(ofBusName: change.name) != nil else { return }
        if let owner = change.newOwner {
            if owners[change.name] != owner { logger.info("writer appeared: \(change.name) (\(owner))") }
            appeared(change.name, owner: owner)
        } else if let owner = owners.removeValue(forKey: change.name) {
            logger.info("writer left: \(change.name)")
            properties[owner] = nil
            unreadable.remove(owner)
            let onLeft = self.onLeft
            Task { await onLeft(owner) }
        }
    }

    private func appeared(_ name: String, owner: String) {
        guard owners[name] != owner else { return }
        owners[name] = owner
        let read = readProperties
        Task { [weak self] in
            let values = await read(owner)
            await self?.fetched(values, of: owner)
        }
    }

    private func fetched(_ values: [String: BusValue]?, of owner: String) {
        guard owners.values.contains(owner) else { return }
        guard let values else {
            unreadable.insert(owner)
            return
        }
        // A PropertiesChanged that arrived meanwhile is at least as new: it wins.
        properties[owner] = (properties[owner] ?? [:]).merging(values) { newer, _ in newer }
        unreadable.remove(owner)
    }

    private func apply(_ signal: BusSignal) {
        guard signal.arguments.count >= 2, owners.values.contains(signal.sender),
            let changed = signal.arguments[1].stringKeyedDictionary
        else { return }
        properties[signal.sender, default: [:]].merge(changed) { _, new in new }
    }

    /// The writer bus names the bus can start on demand and nobody owns now; none when the bus
    /// cannot say.
    private func activatableNotRunning() async -> [String] {
        let names = (try? await connection.listActivatableNames()) ?? []
        return names.filter { BusNames.writerName(ofBusName: $0) != nil && owners[$0] == nil }.sorted()
    }

    /// Starts every writer the bus can start on demand that is not running, all at once, and
    /// waits until each owns its name (the bus bounds the wait: 25 s by default). Returns the
    /// names it started and those that could not be started, with the bus's reason.
    func startActivatableWriters() async -> (started: [String], failed: [StartFailure]) {
        let names = await activatableNotRunning()
        guard !names.isEmpty else { return ([], []) }
        logger.info("starting \(names.count) activatable writer(s): \(names.joined(separator: ", "))")
        let connection = self.connection
        let results = await withTaskGroup(of: (String, Result<String?, any Error>).self) { group in
            for name in names {
                group.addTask {
                    (name, await Result { try await connection.startService(name); return try await connection.nameOwner(name) })
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        var started: [String] = []
        var failed: [StartFailure] = []
        for (name, result) in results.sorted(by: { $0.0 < $1.0 }) {
            let writer = String(name.dropFirst(BusNames.writerPrefix.count))
            switch result {
            case .success(let owner?):
                appeared(name, owner: owner)
                started.append(writer)
            case .success(nil):
                failed.append(StartFailure(name: writer, message: "the bus started the writer but it left the bus again"))
            case .failure(let error):
                let reason = (error as? BusError).map { "\($0.name): \($0.message)" } ?? "\(error)"
                logger.warning("the bus could not start writer \(writer): \(reason)")
                failed.append(StartFailure(name: writer, message: "the bus could not start the writer (\(reason))"))
            }
        }
        return (started, failed)
    }

    /// The properties of ListWriters that change with events: the only ones taken from replies.
    private static let shownProperties: Set<String> = ["State", "LastError"]

    /// Shows the properties writers sent with their replies (``EventReply/properties``), by
    /// owner, before the writers announce them: ListWriters is current as soon as a step ends.
    func show(_ values: [String: [String: BusValue]]) {
        let present = Set(owners.values)
        for (owner, changed) in values where present.contains(owner) {
            let shown = changed.filter { Self.shownProperties.contains($0.key) && $0.value.stringValue != nil }
            properties[owner, default: [:]].merge(shown) { _, new in new }
        }
    }

    /// The writers on the bus now, sorted by name.
    var writers: [Entry] {
        owners.map { Entry(name: String($0.key.dropFirst(BusNames.writerPrefix.count)), owner: $0.value) }
            .sorted { $0.name < $1.name }
    }

    /// What `ListWriters` shows, sorted by name: a writer whose properties could not be read
    /// is `not-responding`; one the bus can start and nobody runs is `not-running`.
    func summaries() async -> [Summary] {
        let running = writers.map { writer in
            let values = properties[writer.owner] ?? [:]
            let text = { (key: String) in values[key]?.stringValue ?? "" }
            if unreadable.contains(writer.owner) {
                return Summary(name: writer.name, classId: "", instanceId: "", state: WriterState.unknown.rawValue, lastError: FailureCode.notResponding.rawValue)
            }
            return Summary(
                name: writer.name, classId: text("ClassId"), instanceId: text("InstanceId"),
                state: values["State"]?.stringValue ?? WriterState.unknown.rawValue, lastError: text("LastError")
            )
        }
        let startable = await activatableNotRunning().map {
            Summary(name: String($0.dropFirst(BusNames.writerPrefix.count)), classId: "", instanceId: "", state: Self.notRunningState, lastError: "")
        }
        return (running + startable).sorted { $0.name < $1.name }
    }
}
