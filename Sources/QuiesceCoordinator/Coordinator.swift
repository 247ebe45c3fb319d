import Foundation
import Logging
import Quiesce
import QuiesceProtocol
import QuiesceBus
import QuiesceServiceBus
import QuiesceFiles
import ServiceLifecycle

/// The coordinator: owns `org.quiesce.Coordinator`, follows the writers on the bus, and
/// creates backup sessions as objects under `/org/quiesce/Session/`. A swift-service-lifecycle
/// `Service`: ``run()`` owns its work until a graceful shutdown or the bus going away.
public actor Coordinator: Coordinator1Methods, Service {
    /// The version `quiesced` reports.
    public static let version = "0.1.0"

    private let connection: ServingConnection
    private let configuration: CoordinatorConfiguration
    private let logger: Logger
    private let directory: WriterDirectory
    private let caller: WriterCaller
    private let providers: [String: any SnapshotProvider]
    private let copyProvider: CopyProvider
    private let snapshots: SnapshotTaker
    private let history: SessionHistory
    private let snapshotLock = AsyncSemaphore(permits: 1)
    private var object: ServedObject?
    private var sessions: [String: (endpoint: SessionEndpoint, object: ServedObject, ownerWatch: Task<Void, Never>)] = [:]

    /// Creates a coordinator on an open connection.
    public init(connection: ServingConnection, configuration: CoordinatorConfiguration, logger: Logger) throws {
        self.connection = connection
        self.configuration = configuration
        self.logger = logger
        let caller = WriterCaller(connection: connection, timeouts: configuration.timeouts, limiter: AsyncSemaphore(permits: configuration.maxCallsInFlight))
        self.caller = caller
        self.directory = WriterDirectory(connection: connection, logger: logger) { await caller.properties(owner: $0) }
        let copy = CopyProvider(root: configuration.snapshotRoot, sizeLimit: configuration.copySizeLimit)
        self.copyProvider = copy
        let all: [any SnapshotProvider] = [
            BtrfsProvider(), ReflinkProvider(),
            CommandProvider(.freeze, command: configuration.freezeCommand, helper: configuration.freezeHelper),
            CommandProvider(.command, command: configuration.snapshotCommand, helper: configuration.freezeHelper),
            copy, NullProvider(),
        ]
        self.providers = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
        if let name = configuration.defaultProvider, providers[name] == nil {
            throw QuiesceError(.invalidArgument, "unknown default provider \(name); known: \(providers.keys.sorted().joined(separator: ", "))")
        }
        self.history = try SessionHistory(stateDirectory: configuration.stateDirectory, limit: configuration.historyLimit)
        self.snapshots = SnapshotTaker(
            providers: providers, ledger: try SnapshotLedger(stateDirectory: configuration.stateDirectory),
            kept: try KeptSnapshotSets(stateDirectory: configuration.stateDirectory), writeHoldLimit: configuration.writeHoldLimit
        )
    }

    /// Serves until a graceful shutdown (SIGTERM or SIGINT in a `ServiceGroup`), cancellation,
    /// or the loss of the bus: cleans up after a previous run, exports the coordinator object,
    /// follows the writers, takes the bus name and reaps idle sessions; at shutdown it aborts and
    /// closes every session, then leaves the bus.
    public func run() async throws {
        try await start()
        let connection = self.connection
        let interval = min(configuration.sessionIdleTimeout / 4, .seconds(30))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [weak self] in
                while (try? await Task.sleep(for: interval)) != nil {
                    await self?.reapIdleSessions()
                    await self?.expireKeptSets()
                }
            }
            await withGracefulShutdownHandler {
                await withTaskCancellationHandler {
                    await connection.waitUntilClosed()
                } onCancel: {
                    Task { await connection.close() }
                }
            } onGracefulShutdown: {
                Task {
                    await self.stop()
                    await connection.close()
                }
            }
            group.cancelAll()
        }
    }

    private func start() async throws {
        try await cleanUpPreviousRun()
        await directory.onWriterLeft { [weak self] owner in await self?.writerLeft(owner) }
        try await directory.start()
        let interface = try InterfaceDescription(xml: Coordinator1.xml, name: Coordinator1.name)
        object = try connection.export(
            path: BusNames.coordinatorPath,
            interface: interface,
            properties: [
                Coordinator1.Property.version.rawValue: .string(Self.version),
                Coordinator1.Property.providers.rawValue: .strings(providers.values.filter { $0.unavailableReason == nil }.map(\.name).sorted()),
                Coordinator1.Property.defaultProvider.rawValue: .string(configuration.defaultProvider ?? "auto"),
                Coordinator1.Property.sessions.rawValue: .array(elementType: "o", []),
            ]
        ) { [weak self] call in
            guard let self else { throw QuiesceError(.failed, "the coordinator is stopping").busError }
            return try await Coordinator1.dispatch(call, to: self)
        }
        try await connection.requestName(BusNames.coordinator)
        logger.info("quiesced \(Self.version) is on \(connection.address) as \(BusNames.coordinator) (\(connection.uniqueName))")
    }

    /// Makes the snapshot root safe, removes the snapshot sets a killed quiesced left behind,
    /// and finishes or rolls back restores that were interrupted; says what it did.
    private func cleanUpPreviousRun() async throws {
        try copyProvider.prepareRoot()
        let leftovers = await snapshots.removeLeftovers()
        if !leftovers.sets.isEmpty {
            logger.notice("removed \(leftovers.sets.count) snapshot set(s) left by a previous run: \(leftovers.sets.joined(separator: ", "))")
        }
        for problem in leftovers.problems { logger.error("could not remove a snapshot left by a previous run: \(problem)") }
        await expireKeptSets()
        do {
            // Rolling back may remove large staged copies: not on a thread tasks share.
            let stateDirectory = configuration.stateDirectory
            for outcome in try await BlockingWork.run({ _ in try RestoreRecovery.run(stateDirectory: stateDirectory) }) {
                logger.notice("\(outcome)")
            }
        } catch {
            logger.error("could not recover interrupted restores in \(configuration.stateDirectory): \(error)")
        }
    }

    /// Deletes the kept snapshot sets that expired, and says so.
    private func expireKeptSets() async {
        let expired = await snapshots.expireKept()
        if !expired.sets.isEmpty { logger.notice("deleted \(expired.sets.count) kept snapshot set(s) that expired: \(expired.sets.joined(separator: ", "))") }
        for problem in expired.problems { logger.error("could not delete an expired snapshot set: \(problem)") }
    }

    /// Aborts and closes every session (the coordinator is stopping).
    private func stop() async {
        for id in sessions.keys.sorted() {
            if let entry = sessions[id] { await entry.endpoint.abandon(reason: "the coordinator is stopping") }
        }
        await directory.stop()
    }

    // MARK: - org.quiesce.Coordinator1

    /// Every writer's identity and state, from what the directory follows: no call to writers.
    public func listWriters(call: BusMethodCall) async throws -> [(name: String, classId: String, instanceId: String, state: String, lastError: String)] {
        await directory.summaries().map { ($0.name, $0.classId, $0.instanceId, $0.state, $0.lastError) }
    }

    /// The providers, whether each can serve, and what it does or why it cannot.
    public func listProviders(call: BusMethodCall) async throws -> [(name: String, available: Bool, summary: String)] {
        providers.values.sorted { $0.name < $1.name }.map { ($0.name, $0.unavailableReason == nil, $0.unavailableReason ?? $0.summary) }
    }

    /// The newest `count` closed sessions, to those who may run backups.
    public func listHistory(_ count: UInt32, call: BusMethodCall) async throws -> [SessionRecord] {
        try await requireBackupRights(call, "read the session history")
        guard (1...1000).contains(count) else { throw QuiesceError(.invalidArgument, "count must be 1 to 1000, not \(count)") }
        do { return try await history.records(count: Int(count)) } catch { throw QuiesceError(.failed, "the history cannot be read: \(error)") }
    }

    /// One closed session's record.
    public func getHistory(_ id: String, call: BusMethodCall) async throws -> SessionRecord {
        try await requireBackupRights(call, "read the session history")
        let record: SessionRecord?
        do { record = try await history.record(id: id) } catch { throw QuiesceError(.failed, "the history cannot be read: \(error)") }
        guard let record else { throw QuiesceError(.notFound, "no session \(id) in the history (it keeps the newest \(configuration.historyLimit))") }
        return record
    }

    /// The kept snapshot sets, oldest first.
    public func listSnapshotSets(call: BusMethodCall) async throws -> [KeptSnapshotSet] {
        try await requireBackupRights(call, "list the kept snapshot sets")
        do { return try await snapshots.kept.all() } catch { throw QuiesceError(.failed, "the kept snapshot sets cannot be read: \(error)") }
    }

    /// Deletes a kept snapshot set: its owner's uid and root only.
    public func deleteSnapshotSet(_ id: String, call: BusMethodCall) async throws {
        let uid = try await requireBackupRights(call, "delete snapshot sets")
        let found: KeptSnapshotSet?
        do { found = try await snapshots.kept.set(id) } catch { throw QuiesceError(.failed, "the kept snapshot sets cannot be read: \(error)") }
        guard let set = found else { throw QuiesceError(.notFound, "no kept snapshot set \(id)") }
        guard uid == 0 || uid == set.ownerUid else {
            throw QuiesceError(.accessDenied, "snapshot set \(id) belongs to uid \(set.ownerUid); only it and root may delete it")
        }
        let problems = await snapshots.deleteKept(id)
        guard problems.isEmpty else { throw QuiesceError(.failed, "snapshot set \(id) could not be deleted entirely: \(problems.joined(separator: "; "))") }
        logger.notice("kept snapshot set \(id) deleted by uid \(uid)")
    }

    /// The history and kept sets name users, paths and failures: only for those who may run
    /// backups. Returns the caller's uid.
    @discardableResult
    private func requireBackupRights(_ call: BusMethodCall, _ what: String) async throws -> UInt32 {
        let (uid, groups) = try await connection.unixCredentials(of: call.sender)
        guard configuration.access.allows(uid: uid, groups: groups) else {
            throw QuiesceError(.accessDenied, "uid \(uid) may not \(what) (root, the coordinator's user and its allowed group may)")
        }
        return uid
    }

    /// A new session owned by the caller.
    public func createSession(_ options: Coordinator1.CreateSessionOptions, call: BusMethodCall) async throws -> String {
        try await createSession(owner: call.sender)
    }

    private func createSession(owner: String) async throws -> String {
        let (uid, groups) = try await connection.unixCredentials(of: owner)
        guard configuration.access.allows(uid: uid, groups: groups) else {
            logger.warning("refused a session to \(owner) (uid \(uid))")
            throw QuiesceError(.accessDenied, "uid \(uid) may not start backup sessions (root, the coordinator's user and its allowed group may)")
        }
        guard sessions.count < configuration.maxSessions else {
            throw QuiesceError(.limitReached, "\(sessions.count) sessions are open; close one first")
        }
        let id = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let path = BusNames.sessionPathPrefix + id
        let interface = try InterfaceDescription(xml: Session1.xml, name: Session1.name)
        let objectBox = ObjectBox()
        let connection = self.connection
        let session = BackupSession(
            id: id, owner: owner, ownerAccess: FileAccess(uid: uid, groups: Set(groups)), caller: caller, directory: directory, snapshots: snapshots,
            defaultProvider: configuration.defaultProvider, snapshotLock: snapshotLock, logger: logger,
            progress: { phase, message, details in
                try? connection.emitSignal(
                    path: path, interface: Session1.name, name: Session1.Signal.progress.rawValue, arguments: [.string(phase), .string(message), details.busValue]
                )
            },
            onPhaseChange: { phase in objectBox.object?.setProperty(Session1.Property.phase.rawValue, .string(phase.rawValue)) }
        )
        let endpoint = SessionEndpoint(session: session, connection: connection, queue: AsyncSemaphore(permits: 1)) { [weak self] in
            await self?.removeSession(id)
        }
        let object = try connection.export(
            path: path, interface: interface,
            properties: [
                Session1.Property.id.rawValue: .string(id), Session1.Property.owner.rawValue: .string(owner), Session1.Property.phase.rawValue: .string(SessionPhase.created.rawValue), Session1.Property.snapshotSetId.rawValue: .string(""),
                Session1.Property.timings.rawValue: .dictionary(keyType: "s", valueType: "t", []),
            ]
        ) { call in
            let reply = try await Session1.dispatch(call, to: endpoint)
            let timings = await session.timings
            await objectBox.object?.setProperties([
                Session1.Property.snapshotSetId.rawValue: .string(session.snapshotSetId),
                Session1.Property.timings.rawValue: Wire.uint64Dictionary(timings),
            ])
            return reply
        }
        objectBox.object = object
        let ownerWatch = try await watchOwner(owner, endpoint: endpoint)
        sessions[id] = (endpoint, object, ownerWatch)
        publishSessions()
        logger.info("session \(id) created by \(owner)")
        return path
    }

    private func watchOwner(_ owner: String, endpoint: SessionEndpoint) async throws -> Task<Void, Never> {
        let changes = try await connection.nameOwnerChanges(of: .name(owner))
        let stillThere = (try? await connection.nameOwner(owner)) != nil
        return Task {
            if stillThere {
                for await change in changes where change.name == owner && change.newOwner == nil { break }
            }
            guard !Task.isCancelled else { return }
            await endpoint.abandon(reason: "its requester \(owner) left the bus")
        }
    }

    private func writerLeft(_ owner: String) async {
        for entry in sessions.values {
            await entry.endpoint.session.writerLeft(owner: owner)
        }
    }

    private func reapIdleSessions() async {
        for (id, entry) in sessions {
            let idle = ContinuousClock.now - (await entry.endpoint.session.lastActivity)
            if idle > configuration.sessionIdleTimeout {
                logger.warning("session \(id) has been idle for \(idle); aborting and closing it")
                Task { await entry.endpoint.abandon(reason: "idle for \(idle)") }
            }
        }
    }

    private func removeSession(_ id: String) async {
        guard let entry = sessions.removeValue(forKey: id) else { return }
        entry.ownerWatch.cancel()
        entry.object.unexport()
        publishSessions()
        let record = await entry.endpoint.session.historyRecord
        do {
            try await history.append(record)
        } catch {
            logger.error("could not keep session \(id) in the history: \(error)")
        }
        logger.info("session \(id) closed: \(record.kind.rawValue) \(record.outcome.rawValue) (\(record.endedBecause))")
        // Once the session's last reply has gone and it is freed, give its memory back.
        Task.detached {
            try? await Task.sleep(for: .milliseconds(200))
            Heap.releaseFreeMemory()
        }
    }

    private func publishSessions() {
        object?.setProperty(Coordinator1.Property.sessions.rawValue, .array(elementType: "o", sessions.keys.sorted().map { .objectPath(BusNames.sessionPathPrefix + $0) }))
    }
}

/// Lets a session's callbacks reach its exported object, which exists only after the session.
/// Weak: the object's own handler holds the box, and the coordinator holds the object.
private final class ObjectBox: @unchecked Sendable {
    private let lock = NSLock()
    private weak var stored: ServedObject?
    var object: ServedObject? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
