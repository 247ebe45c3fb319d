import Foundation
import Logging
import Quiesce
import QuiesceBus

/// One backup session: the writers in it, the volumes and components selected, the snapshot
/// set, and each writer's status. Steps run one at a time, in the VSS order.
actor BackupSession {
    let id: String
    /// The unique name of the requester that created the session.
    let owner: String
    private(set) var phase: SessionPhase = .created {
        didSet { onPhaseChange(phase) }
    }

    private var participants: [String: SessionParticipant] = [:]
    private var volumes: [String] = []
    private var explicitSelection: [String: Set<String>]?
    private var backupType: BackupType = .full
    private var snapshotSet: SnapshotSet?

    private let caller: WriterCaller
    private let directory: WriterDirectory
    private let providers: [String: any SnapshotProvider]
    private let defaultProvider: String
    private let snapshotLock: SnapshotLock
    private let logger: Logger
    private let progress: @Sendable (String, String) -> Void
    private let onPhaseChange: @Sendable (SessionPhase) -> Void

    init(
        id: String,
        owner: String,
        caller: WriterCaller,
        directory: WriterDirectory,
        providers: [String: any SnapshotProvider],
        defaultProvider: String,
        snapshotLock: SnapshotLock,
        logger: Logger,
        progress: @escaping @Sendable (String, String) -> Void,
        onPhaseChange: @escaping @Sendable (SessionPhase) -> Void
    ) {
        self.id = id
        self.owner = owner
        self.caller = caller
        self.directory = directory
        self.providers = providers
        self.defaultProvider = defaultProvider
        self.snapshotLock = snapshotLock
        self.logger = logger
        self.progress = progress
        self.onPhaseChange = onPhaseChange
    }

    var snapshotSetId: String { snapshotSet?.id ?? "" }

    // MARK: - Steps

    /// Identify to every writer on the bus; returns their metadata as a JSON array.
    func gatherWriterMetadata() async throws -> String {
        try require([.created, .metadataGathered], for: "GatherWriterMetadata")
        let writers = await directory.writers
        progress("gather-writer-metadata", "Identify to \(writers.count) writer(s)")
        let caller = self.caller
        let identified = await withTaskGroup(of: (String, String, Result<WriterMetadata, any Error>).self) { group in
            for writer in writers {
                group.addTask { (writer.name, writer.owner, await Result { try await caller.identify(owner: writer.owner) }) }
            }
            var found: [String: SessionParticipant] = [:]
            for await (name, owner, result) in group {
                switch result {
                case .success(var metadata):
                    metadata.name = name
                    found[name] = SessionParticipant(owner: owner, metadata: metadata)
                case .failure(let error):
                    logger.warning("writer \(name) left out: Identify failed: \(error)")
                }
            }
            return found
        }
        participants = identified
        phase = .metadataGathered
        let metadata = participants.values.map(\.metadata).sorted { $0.name < $1.name }
        progress("gather-writer-metadata", "\(metadata.count) writer(s) identified")
        return try JSONCoding.encode(metadata)
    }

    /// Adds volumes to the snapshot set.
    func addVolumes(_ paths: [String]) throws {
        try require([.created, .metadataGathered], for: "AddVolumes")
        for path in paths {
            guard PathRules.isAbsoluteNormalized(path) else {
                throw Self.error(.invalidArgument, "volume \(path) is not an absolute normalized path")
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw Self.error(.invalidArgument, "volume \(path) is not a directory")
            }
        }
        var merged = volumes
        for path in paths where !merged.contains(path) { merged.append(path) }
        guard merged.count <= 64 else { throw Self.error(.invalidArgument, "a snapshot set holds at most 64 volumes") }
        volumes = merged
    }

    /// Selects components explicitly, by (writer, component full path).
    func selectComponents(_ pairs: [(String, String)]) throws {
        try require([.metadataGathered], for: "SelectComponents")
        var selection = explicitSelection ?? [:]
        for (writer, component) in pairs {
            guard let participant = participants[writer] else {
                throw Self.error(.notFound, "no writer \(writer) in this session (gather writer metadata first)")
            }
            guard let found = participant.metadata.component(component) else {
                throw Self.error(.notFound, "writer \(writer) has no component \(component)")
            }
            guard found.selectable else {
                throw Self.error(.invalidArgument, "component \(component) of writer \(writer) is not selectable")
            }
            selection[writer, default: []].insert(component)
        }
        explicitSelection = selection
    }

    /// PrepareForBackup to every writer with selected components.
    func prepareForBackup(backupType: BackupType) async throws {
        try require([.metadataGathered], for: "PrepareForBackup")
        guard !volumes.isEmpty else { throw Self.error(.badState, "add at least one volume before PrepareForBackup") }
        self.backupType = backupType
        for name in participants.keys {
            participants[name]!.selectedComponents = selection(for: participants[name]!)
        }
        let selected = participants.values.filter(\.isSelected).count
        progress("prepare-for-backup", "PrepareForBackup to \(selected) writer(s)")
        await send(.prepareForBackup, to: participants.values.filter(\.isActive).map(\.name))
        phase = .prepared
    }

    private func selection(for participant: SessionParticipant) -> [String] {
        if let explicitSelection {
            return explicitSelection[participant.name].map { $0.sorted() } ?? []
        }
        return participant.metadata.components(onVolumes: volumes)
    }

    /// PrepareForSnapshot, Freeze by level, the snapshot, Thaw in reverse order, PostSnapshot.
    func doSnapshotSet(providerName: String?) async throws -> (setId: String, snapshots: [String: String]) {
        try require([.prepared], for: "DoSnapshotSet")
        let name = providerName ?? defaultProvider
        guard let provider = providers[name] else {
            throw Self.error(.invalidArgument, "no provider \(name); known: \(providers.keys.sorted().joined(separator: ", "))")
        }
        guard await snapshotLock.tryAcquire(for: id) else {
            throw Self.error(.busy, "another snapshot set is being created; wait and try again")
        }
        let setId = UUID().uuidString.lowercased()
        defer { Task { [snapshotLock, id] in await snapshotLock.release(for: id) } }

        progress("prepare-for-snapshot", "PrepareForSnapshot to \(activeNames().count) writer(s)")
        await send(.prepareForSnapshot, to: activeNames(), setId: setId)

        var frozen: [String] = []
        for level in ApplicationLevel.allCases {
            let names = activeNames().filter { participants[$0]!.metadata.applicationLevel == level }
            guard !names.isEmpty else { continue }
            progress("freeze", "Freeze \(names.count) \(level.rawValue) writer(s)")
            await send(.freeze, to: names, setId: setId)
            frozen += names
        }

        let snapshots: [String: String]
        let started = ContinuousClock.now
        do {
            progress("snapshot", "provider \(name): snapshot of \(volumes.count) volume(s)")
            snapshots = try await provider.createSnapshots(of: volumes, setId: setId)
            progress("snapshot", "snapshot taken in \(ContinuousClock.now - started)")
        } catch {
            progress("abort", "the snapshot failed: \(error)")
            await abortWriters(setId: setId)
            phase = .failed
            throw Self.error(.providerFailed, "provider \(name) failed: \(error); writers were aborted")
        }

        // Thaw (or Abort, for a writer whose Freeze failed) reaches every writer sent Freeze.
        for level in ApplicationLevel.allCases.reversed() {
            let names = frozen.filter { participants[$0]!.metadata.applicationLevel == level }
            let thawing = names.filter { participants[$0]!.isActive }
            let aborting = names.filter { !participants[$0]!.isActive }
            if !thawing.isEmpty {
                progress("thaw", "Thaw \(thawing.count) \(level.rawValue) writer(s)")
                await send(.thaw, to: thawing, setId: setId)
            }
            if !aborting.isEmpty {
                progress("abort", "Abort to \(aborting.count) writer(s) whose Freeze failed")
                await send(.abort, to: aborting, setId: setId)
            }
        }

        let finishing = activeNames()
        progress("post-snapshot", "PostSnapshot to \(finishing.count) writer(s)")
        await send(.postSnapshot, to: finishing, setId: setId)
        for name in activeNames() where participants[name]!.sentEvents.contains(.thaw) {
            participants[name]!.snapshotIsConsistent = true
        }

        snapshotSet = SnapshotSet(
            id: setId, provider: name, createdAt: Date(),
            volumes: volumes.map { VolumeSnapshot(volume: $0, snapshotPath: snapshots[$0] ?? "") }
        )
        phase = .snapshotDone
        return (setId, snapshots)
    }

    /// BackupComplete to the writers still in the backup.
    func backupComplete(succeeded: Bool) async throws {
        try require([.snapshotDone], for: "BackupComplete")
        progress("backup-complete", "BackupComplete to \(activeNames().count) writer(s)")
        await send(.backupComplete, to: activeNames(), extra: [EventOptionKey.succeeded: .bool(succeeded)])
        phase = .backupComplete
    }

    /// Abandons the backup: Abort to writers sent PrepareForSnapshot but not PostSnapshot.
    func abortBackup() async throws {
        try require([.created, .metadataGathered, .prepared, .snapshotDone, .failed], for: "AbortBackup")
        await abortWriters(setId: snapshotSet?.id)
        phase = .aborted
    }

    private func abortWriters(setId: String?) async {
        let names = participants.values.filter {
            $0.sentEvents.contains(.prepareForSnapshot) && !$0.sentEvents.contains(.postSnapshot)
        }.map(\.name)
        guard !names.isEmpty else { return }
        progress("abort", "Abort to \(names.count) writer(s)")
        await send(.abort, to: names, setId: setId)
    }

    /// Ends the session: BackupShutdown to its writers; the snapshot set is removed.
    func close() async {
        guard phase != .closed else { return }
        if phase == .prepared {
            await abortWriters(setId: nil)
        }
        let names = participants.values.filter { $0.sentEvents.contains(.prepareForBackup) }.map(\.name)
        if !names.isEmpty {
            progress("backup-shutdown", "BackupShutdown to \(names.count) writer(s)")
            await send(.backupShutdown, to: names, setId: snapshotSet?.id)
        }
        if let set = snapshotSet, let provider = providers[set.provider] {
            do {
                try await provider.deleteSnapshots(setId: set.id)
            } catch {
                logger.error("could not remove snapshot set \(set.id): \(error)")
            }
        }
        phase = .closed
    }

    /// The requester left: abort what is in flight, then close.
    func abandon() async {
        logger.warning("requester \(owner) left; abandoning session \(id)")
        if [.metadataGathered, .prepared, .snapshotDone].contains(phase) {
            await abortWriters(setId: snapshotSet?.id)
        }
        await close()
    }

    // MARK: - Status and documents

    /// Every identified writer's status, sorted by name.
    var writerStatus: [WriterStatus] {
        participants.values.map(\.status).sorted { $0.name < $1.name }
    }

    /// The backup document as the session stands.
    var backupDocument: BackupDocument {
        let writers = participants.values.filter(\.isSelected).sorted { $0.name < $1.name }.map { participant in
            WriterRecord(
                metadata: participant.metadata,
                status: participant.status,
                components: participant.selectedComponents.map {
                    ComponentRecord(fullPath: $0, consistency: participant.snapshotIsConsistent ? .applicationConsistent : .crashConsistent)
                }
            )
        }
        let outcome: BackupOutcome =
            snapshotSet == nil ? .failed
            : writers.allSatisfy { $0.components.allSatisfy { $0.consistency == .applicationConsistent } } ? .succeeded : .partial
        return BackupDocument(sessionId: id, backupType: backupType, outcome: outcome, writers: writers, snapshotSet: snapshotSet)
    }

    // MARK: - Helpers

    private func activeNames() -> [String] {
        participants.values.filter(\.isActive).map(\.name).sorted()
    }

    private func send(_ event: WriterEvent, to names: [String], setId: String? = nil, extra: [String: BusValue] = [:]) async {
        let targets = names.compactMap { participants[$0] }.map { participant in
            var options: [String: BusValue] = [
                EventOptionKey.backupType: .string(backupType.rawValue),
                EventOptionKey.components: .strings(participant.selectedComponents),
                EventOptionKey.volumes: .strings(volumes),
            ]
            if let setId { options[EventOptionKey.snapshotSetId] = .string(setId) }
            if event == .freeze { options[EventOptionKey.leaseMilliseconds] = .uint32(participant.metadata.freezeTimeoutMilliseconds) }
            options.merge(extra) { $1 }
            return (name: participant.name, owner: participant.owner, options: options)
        }
        let results = await caller.fanOut(event, to: targets, session: id)
        for (name, result) in results {
            participants[name]?.record(event, result)
            if let failure = result.failure {
                logger.warning("writer \(name) failed \(event.methodName): \(failure.rawValue) \(result.message)", metadata: ["session": "\(id)"])
                progress(event.methodName, "writer \(name) failed \(event.methodName): \(failure.rawValue): \(result.message)")
            }
        }
    }

    private func require(_ phases: [SessionPhase], for method: String) throws {
        guard phases.contains(phase) else {
            throw Self.error(.badState, "\(method) is not allowed when the session is \(phase.rawValue)")
        }
    }

    static func error(_ name: QuiesceErrorName, _ message: String) -> BusError {
        BusError(name: name.rawValue, message: message)
    }
}
