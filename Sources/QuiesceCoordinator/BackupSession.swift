import Foundation
import Logging
import Quiesce
import QuiesceBus
import QuiesceFiles
import QuiesceProtocol

/// One session: the writers in it, the volumes and components selected, the snapshot set, and
/// each writer's status. Steps run one at a time, in the VSS order (see `org.quiesce.Session1`).
actor BackupSession {
    let id: String
    /// The unique name of the requester that created the session.
    let owner: String
    /// The uid and groups of that requester: the only user besides root who may read its
    /// snapshots, and who may add only volumes it can read.
    let ownerAccess: FileAccess
    nonisolated var ownerUID: UInt32 { ownerAccess.uid }
    private(set) var phase: SessionPhase = .created {
        didSet { onPhaseChange(phase) }
    }
    /// Microseconds each step took, by event method name, plus `snapshot` and `freeze-window`.
    private(set) var timings: [String: UInt64] = [:]

    private var participants: [String: SessionParticipant] = [:]
    /// The volumes of the snapshot set, resolved to what they live on.
    private var volumes: [VolumeInfo] = []
    private var volumePaths: [String] { volumes.map(\.path) }
    private var explicitSelection: [String: Set<String>]?
    private var policies: [String: WriterPolicy] = [:]
    private var componentPolicies: [String: [String: WriterPolicy]] = [:]
    private var backupType: BackupType = .full
    private var snapshotSet: SnapshotSet?
    /// Per volume whose snapshot is one instant, its group (`snapshot-groups`): the same group,
    /// the same instant.
    private var snapshotGroups: [String: String] = [:]
    /// The backup document a restore session restores from.
    private var restoreDocument: BackupDocument?
    /// Where a restore session puts the volumes, when not over the volumes themselves.
    private var alternateLocation: String?
    /// What the requester said at BackupComplete.
    private var backupSucceeded: Bool?
    /// How long the snapshot set outlives the session (KeepSnapshotSet), if it does.
    private var keepFor: Duration?
    /// When the session was created.
    private let started = Date()
    /// The phase the session had reached when it was closed, and why it was closed.
    private var ending: (phase: SessionPhase, reason: String)?
    /// The last step that failed, with its error (for the history).
    private var stepError: String?

    private let caller: WriterCaller
    private let directory: WriterDirectory
    private let snapshots: SnapshotTaker
    /// The provider DoSnapshotSet uses when none is named; `nil`: one per volume.
    private let defaultProvider: String?
    private let snapshotLock: AsyncSemaphore
    private let logger: Logger
    private let emitProgress: @Sendable (String, String, Session1.ProgressDetails) -> Void
    private let onPhaseChange: @Sendable (SessionPhase) -> Void

    init(
        id: String,
        owner: String,
        ownerAccess: FileAccess,
        caller: WriterCaller,
        directory: WriterDirectory,
        snapshots: SnapshotTaker,
        defaultProvider: String?,
        snapshotLock: AsyncSemaphore,
        logger: Logger,
        progress: @escaping @Sendable (String, String, Session1.ProgressDetails) -> Void,
        onPhaseChange: @escaping @Sendable (SessionPhase) -> Void
    ) {
        self.id = id
        self.owner = owner
        self.ownerAccess = ownerAccess
        self.caller = caller
        self.directory = directory
        self.snapshots = snapshots
        self.defaultProvider = defaultProvider
        self.snapshotLock = snapshotLock
        self.logger = logger
        self.emitProgress = progress
        self.onPhaseChange = onPhaseChange
    }

    var snapshotSetId: String { snapshotSet?.id ?? "" }

    // MARK: - Discovery and selection

    /// Starts the writers the bus can start on demand, then Identify to every writer on the bus;
    /// returns their metadata, sorted by name. A writer the bus could not start is left out as
    /// `not-responding`, with the bus's reason.
    func gatherWriterMetadata() async throws -> [WriterMetadata] {
        try require(.gatherWriterMetadata)
        let started = ContinuousClock.now
        defer { timings[WriterEvent.identify.methodName] = (ContinuousClock.now - started).wholeMicroseconds }
        let activation = await directory.startActivatableWriters()
        if !activation.started.isEmpty {
            progress("gather-writer-metadata", "started \(activation.started.count) writer(s) on demand: \(activation.started.joined(separator: ", "))")
        }
        for failure in activation.failed {
            progress("gather-writer-metadata", "writer \(failure.name) left out: \(failure.message)")
        }
        let writers = await directory.writers
        progress("gather-writer-metadata", "Identify to \(writers.count) writer(s)")
        let caller = self.caller
        let identified = await withTaskGroup(of: (String, String, Result<WriterMetadata, any Error>).self) { group in
            for writer in writers {
                group.addTask { (writer.name, writer.owner, await Result { try await caller.identify(owner: writer.owner) }) }
            }
            var found: [String: SessionParticipant] = [:]
            for failure in activation.failed {
                found[failure.name] = SessionParticipant(name: failure.name, owner: "", identifyFailure: .notResponding, message: failure.message)
            }
            for await (name, owner, result) in group {
                switch result {
                case .success(var metadata):
                    metadata.name = name
                    found[name] = SessionParticipant(owner: owner, metadata: metadata)
                case .failure(let failure):
                    let error = QuiesceError(failure)
                    let code: FailureCode = [.timeout, .peerGone].contains(error.code) ? .notResponding : .nonRetryable
                    let message = "Identify failed: \(error.message)"
                    logger.warning("writer \(name) left out: \(message)")
                    progress("gather-writer-metadata", "writer \(name) left out: \(message)")
                    found[name] = SessionParticipant(name: name, owner: owner, identifyFailure: code, message: message)
                }
            }
            return found
        }
        participants = identified
        completed(.gatherWriterMetadata)
        let metadata = participants.values.filter(\.isIdentified).map(\.metadata).sorted { $0.name < $1.name }
        progress("gather-writer-metadata", "\(metadata.count) writer(s) identified")
        return metadata
    }

    /// Adds volumes to the snapshot set, each resolved to the filesystem it lives on (refused,
    /// with the reason, when it does not exist, is reached through a symlink, is on a pseudo,
    /// network or user-space filesystem, lies inside another volume, or is a second mount of a
    /// volume's filesystem), and readable by the session's owner.
    func addVolumes(_ paths: [String]) throws {
        try require(.addVolumes)
        let table: MountTable
        do { table = try MountTable.current() } catch { throw QuiesceError(.invalidArgument, "the mount table cannot be read: \(error)") }
        var merged = volumes
        for path in paths {
            guard PathRules.isAbsoluteNormalized(path) else {
                throw QuiesceError(.invalidArgument, "volume \(path) is not an absolute normalized path")
            }
            let volume: VolumeInfo
            do { volume = try VolumeResolver.resolve(path, in: table) } catch { throw QuiesceError(.invalidArgument, "\(error)") }
            guard (try? ownerAccess.canRead(directory: path)) == true else {
                throw QuiesceError(.accessDenied, "uid \(ownerUID) may not read \(path): a session backs up only what its owner can read")
            }
            if !merged.contains(where: { $0.path.utf8.elementsEqual(path.utf8) }) { merged.append(volume) }  // bytes: see checkSet
        }
        guard merged.count <= InputLimits.volumesPerSet else {
            throw QuiesceError(.invalidArgument, "a snapshot set holds at most \(InputLimits.volumesPerSet) volumes")
        }
        do { try VolumeResolver.checkSet(merged) } catch { throw QuiesceError(.invalidArgument, "\(error)") }
        volumes = merged
    }

    /// Selects components explicitly, by (writer, component full path).
    func selectComponents(_ pairs: [(String, String)]) throws {
        try require(.selectComponents)
        var selection = explicitSelection ?? [:]
        for (writer, component) in pairs {
            let found = try findComponent(writer, component)
            guard found.selectable else {
                throw QuiesceError(.invalidArgument, "component \(component) of writer \(writer) is not selectable")
            }
            selection[writer, default: []].insert(component)
        }
        explicitSelection = selection
    }

    /// Marks writers or components required or optional.
    func setWriterPolicy(_ rules: [(writer: String, component: String, policy: WriterPolicy)]) throws {
        try require(.setWriterPolicy)
        for rule in rules {
            if rule.component.isEmpty {
                guard participants[rule.writer] != nil else { throw QuiesceError(.notFound, "no writer \(rule.writer) in this session") }
                policies[rule.writer] = rule.policy
            } else {
                _ = try findComponent(rule.writer, rule.component)
                componentPolicies[rule.writer, default: [:]][rule.component] = rule.policy
            }
        }
    }

    private func findComponent(_ writer: String, _ path: String) throws -> Component {
        guard let participant = participants[writer], participant.isIdentified else {
            throw QuiesceError(.notFound, "no writer \(writer) in this session (gather writer metadata first)")
        }
        guard let found = participant.metadata.component(path) else {
            throw QuiesceError(.notFound, "writer \(writer) has no component \(path)")
        }
        return found
    }

    // MARK: - Backup

    /// PrepareForBackup to every writer with selected components.
    func prepareForBackup(backupType: BackupType) async throws {
        try require(.prepareForBackup)
        guard !volumes.isEmpty else { throw QuiesceError(.badState, "add at least one volume before PrepareForBackup") }
        self.backupType = backupType
        for name in participants.keys {
            let selected = explicitSelection.map { $0[name].map { $0.sorted() } ?? [] } ?? participants[name]!.metadata.components(onVolumes: volumePaths)
            participants[name]!.selectedComponents = selected
            participants[name]!.isRequired = policies[name] == .required
                || selected.contains { componentPolicies[name]?[$0] == .required }
        }
        // A required writer left out at Identify fails the backup before anyone prepares.
        try requireRequiredWriters(for: "PrepareForBackup")
        let selected = participants.values.filter(\.isSelected).count
        progress("prepare-for-backup", "PrepareForBackup to \(selected) writer(s)")
        await send(.prepareForBackup, to: activeNames())
        try await failIfRequiredFailed(.prepareForBackup, abort: false)
        completed(.prepareForBackup)
    }

    /// PrepareForSnapshot, Freeze by level, the snapshot, Thaw in reverse order, PostSnapshot.
    func doSnapshotSet(providerName: String?) async throws -> (setId: String, snapshots: [String: String]) {
        try require(.doSnapshotSet)
        try requireRequiredWriters(for: "DoSnapshotSet")
        // Chosen before any writer prepares: a set no provider can take bothers nobody.
        let assignments: [SnapshotTaker.Assignment]
        do {
            assignments = try await snapshots.assign(volumes, named: providerName ?? defaultProvider)
        } catch {
            throw QuiesceError(.invalidArgument, error.description)
        }
        guard snapshotLock.tryAcquire() else {
            throw QuiesceError(.busy, "another snapshot set is being created; wait and try again")
        }
        // Released before the reply goes out, so the next DoSnapshotSet never sees a stale Busy.
        do {
            let result = try await createSnapshotSet(assignments)
            snapshotLock.release()
            return result
        } catch {
            snapshotLock.release()
            throw error
        }
    }

    /// The body of DoSnapshotSet, run while the session holds the snapshot lock.
    private func createSnapshotSet(_ assignments: [SnapshotTaker.Assignment]) async throws -> (setId: String, snapshots: [String: String]) {
        let setId = UUID().uuidString.lowercased()
        snapshotGroups = Self.groups(of: assignments)

        progress("prepare-for-snapshot", "PrepareForSnapshot to \(activeNames().count) writer(s)")
        await send(.prepareForSnapshot, to: activeNames(), setId: setId)
        try await failIfRequiredFailed(.prepareForSnapshot, abort: true, setId: setId)

        var frozen: [String] = []
        var freezeSent: [String: ContinuousClock.Instant] = [:]
        let freezeStarted = ContinuousClock.now
        for level in ApplicationLevel.allCases {
            let names = activeNames().filter { participants[$0]!.metadata.applicationLevel == level }
            guard !names.isEmpty else { continue }
            progress("freeze", "Freeze \(names.count) \(level.rawValue) writer(s)")
            for name in names { freezeSent[name] = .now }
            await send(.freeze, to: names, setId: setId)
            frozen += names
            try await failIfRequiredFailed(.freeze, abort: true, setId: setId)
        }

        let taken: [String: String]
        let started = ContinuousClock.now
        let providerNames = assignments.map(\.provider.name).joined(separator: "+")
        do {
            let emit = self.emitProgress
            // The snapshot must not outlast any frozen writer's lease: the shortest time left
            // of the leases still running (a writer past its lease has thawed on its own).
            let now = ContinuousClock.now
            let lease = frozen.compactMap { name -> Duration? in
                guard let participant = participants[name], participant.isActive, let sent = freezeSent[name] else { return nil }
                let left = Duration.milliseconds(participant.metadata.freezeTimeoutMilliseconds) - (now - sent)
                return left > .zero ? left : nil
            }.min()
            taken = try await snapshots.take(assignments, setId: setId, owner: ownerUID, lease: lease) { emit("snapshot", $0, Session1.ProgressDetails()) }
            progress("snapshot", "snapshot taken in \(ContinuousClock.now - started)")
            timings["snapshot"] = (ContinuousClock.now - started).wholeMicroseconds
        } catch {
            progress("abort", "the snapshot failed: \(error)")
            await abortWriters(setId: setId)
            // Only now, with every writer released, is what the providers made removed.
            for problem in await snapshots.delete(setId) { progress("abort", "while removing the failed set: \(problem)") }
            phase = .failed
            throw QuiesceError(.providerFailed, "provider \(providerNames) failed: \(error); writers were aborted and the snapshots already made deleted")
        }
        let providerOf = Dictionary(assignments.flatMap { assignment in assignment.volumes.map { ($0.path, assignment.provider.name) } }, uniquingKeysWith: { $1 })
        snapshotSet = SnapshotSet(
            id: setId, provider: providerNames, createdAt: Date(),
            volumes: volumes.map { VolumeSnapshot(volume: $0.path, snapshotPath: taken[$0.path] ?? "", provider: providerOf[$0.path], info: $0) }
        )

        // Thaw (or Abort, for a writer whose Freeze failed) reaches every writer sent Freeze.
        for level in ApplicationLevel.allCases.reversed() {
            let names = frozen.filter { participants[$0]!.metadata.applicationLevel == level }
            let thawing = names.filter { participants[$0]!.isActive }
            let aborting = names.filter { !participants[$0]!.isActive }
            if !thawing.isEmpty {
                progress("thaw", "Thaw \(thawing.count) \(level.rawValue) writer(s)")
                await send(.thaw, to: thawing, setId: setId)
            }
            // A failed Thaw generates Abort, as a failed Freeze does.
            let abort = aborting + thawing.filter { !participants[$0]!.isActive }
            if !abort.isEmpty {
                progress("abort", "Abort to \(abort.count) writer(s) whose Freeze or Thaw failed")
                await send(.abort, to: abort, setId: setId)
            }
        }
        timings["freeze-window"] = (ContinuousClock.now - freezeStarted).wholeMicroseconds
        try await failIfRequiredFailed(.thaw, abort: true, setId: setId)

        let finishing = activeNames()
        progress("post-snapshot", "PostSnapshot to \(finishing.count) writer(s)")
        await send(.postSnapshot, to: finishing, setId: setId)
        for name in activeNames() where participants[name]!.sentEvents.contains(.thaw) {
            participants[name]!.snapshotIsConsistent = true
        }
        try await failIfRequiredFailed(.postSnapshot, abort: false)
        completed(.doSnapshotSet)
        return (setId, taken)
    }

    /// Which volumes are one instant, and together with which: each volume of a per-volume
    /// provider its own group, the volumes of an across-volumes provider one group.
    private static func groups(of assignments: [SnapshotTaker.Assignment]) -> [String: String] {
        var groups: [String: String] = [:]
        for assignment in assignments {
            for volume in assignment.volumes {
                switch assignment.provider.instant {
                case .perVolume: groups[volume.path] = "\(assignment.provider.name):\(volume.path)"
                case .acrossVolumes: groups[volume.path] = assignment.provider.name
                case .none: continue
                }
            }
        }
        return groups
    }

    /// BackupComplete to the writers still in the backup.
    func backupComplete(succeeded: Bool) async throws {
        try require(.backupComplete)
        try requireRequiredWriters(for: "BackupComplete")
        progress("backup-complete", "BackupComplete to \(activeNames().count) writer(s)")
        backupSucceeded = succeeded
        await send(.backupComplete, to: activeNames(), options: EventOptions(succeeded: succeeded))
        completed(.backupComplete)
    }

    /// Keeps the snapshot set after Close for `duration` (its snapshots stay where they are
    /// read now), if the backup completes: a set whose backup was aborted or failed is deleted.
    func keepSnapshotSet(for duration: Duration) throws {
        try require(.keepSnapshotSet)
        guard duration > .zero, duration <= KeptSnapshotSet.longestKeep else {
            throw QuiesceError(.invalidArgument, "a snapshot set is kept for 1 second to 366 days")
        }
        keepFor = duration
        progress("keep", "the snapshot set will be kept for \(duration) after the session")
    }

    /// Abandons the backup: Abort to writers sent PrepareForSnapshot and not yet BackupComplete.
    func abortBackup() async throws {
        try require(.abortBackup)
        await abortWriters(setId: snapshotSet?.id)
        completed(.abortBackup)
    }

    /// Abort to every writer sent PrepareForSnapshot that has not been sent Abort or
    /// BackupComplete: a writer waiting for BackupComplete learns that it will not come (VSS
    /// sends no Abort after PostSnapshot; we do, so the writer can drop what it kept for it).
    private func abortWriters(setId: String?) async {
        let names = participants.values.filter {
            $0.sentEvents.contains(.prepareForSnapshot) && $0.sentEvents.isDisjoint(with: [.abort, .backupComplete])
        }.map(\.name).sorted()
        guard !names.isEmpty else { return }
        progress("abort", "Abort to \(names.count) writer(s)")
        await send(.abort, to: names, setId: setId)
    }

    /// Throws `WriterFailed` if a required writer failed `event`, after aborting the snapshot
    /// set when `abort` is set.
    private func failIfRequiredFailed(_ event: WriterEvent, abort: Bool, setId: String? = nil) async throws {
        let failed = participants.values.filter { $0.isRequired && $0.failedEvent == event && $0.status.failure != .partialFailure }
            .sorted { $0.name < $1.name }
        guard !failed.isEmpty else { return }
        let reasons = failed.map { "\($0.name): \($0.status.failure!.rawValue): \($0.status.message)" }.joined(separator: "; ")
        phase = .failed
        if abort {
            // Every writer is released before the requester hears of the failure.
            await abortWriters(setId: setId)
        }
        throw QuiesceError(.writerFailed, "required writer(s) failed \(event.methodName): \(reasons)")
    }

    // MARK: - Restore

    /// PreRestore to the live writers of a backup document, with their components and metadata,
    /// and the alternate location if the volumes are restored elsewhere.
    func preRestore(document: BackupDocument, alternateLocation: String?) async throws {
        try require(.preRestore)
        do {
            try document.validateForRestore()
        } catch {
            throw QuiesceError(.invalidArgument, "the backup document cannot be restored: \(error)")
        }
        if let alternateLocation {
            guard PathRules.isAbsoluteNormalized(alternateLocation), alternateLocation != "/" else {
                throw QuiesceError(.invalidArgument, "alternate-location must be an absolute normalized directory other than /")
            }
        } else {
            // The writers stop their applications for this: only for a caller who may restore there.
            for volume in document.snapshotSet?.volumes ?? [] where (try? ownerAccess.canWrite(directory: volume.volume)) == false {
                throw QuiesceError(.accessDenied, "uid \(ownerUID) may not write \(volume.volume): a session restores only what its owner can write")
            }
        }
        self.alternateLocation = alternateLocation
        for record in document.writers {
            guard participants[record.metadata.name]?.isIdentified == true else {
                logger.warning("writer \(record.metadata.name) of the backup is not on the bus; its components are not restored by it")
                continue
            }
            participants[record.metadata.name]!.selectedComponents = record.components.map(\.fullPath)
        }
        restoreDocument = document
        progress("pre-restore", "PreRestore to \(activeNames().count) writer(s)")
        await send(.preRestore, to: activeNames())
        completed(.preRestore)
    }

    /// PostRestore to the writers that accepted PreRestore.
    func postRestore(succeeded: Bool) async throws {
        try require(.postRestore)
        progress("post-restore", "PostRestore to \(activeNames().count) writer(s)")
        await send(.postRestore, to: activeNames(), options: EventOptions(succeeded: succeeded))
        completed(.postRestore)
    }

    // MARK: - End

    /// Ends the session: a backup that did not reach BackupComplete gets Abort, a restore nobody
    /// finished gets PostRestore with `succeeded=false` (so writers reopen what they closed);
    /// BackupShutdown to every writer of the backup or restore; the snapshot set is removed.
    /// `reason` goes into the history.
    func close(reason: String = "closed by its requester") async {
        guard phase != .closed else { return }
        ending = (phase, reason)
        if [.prepared, .snapshotDone].contains(phase) {
            await abortWriters(setId: snapshotSet?.id)
        }
        let unfinished = participants.values.filter { $0.sentEvents.contains(.preRestore) && !$0.sentEvents.contains(.postRestore) }.map(\.name).sorted()
        if !unfinished.isEmpty {
            progress("post-restore", "PostRestore (succeeded=false: the restore was not finished) to \(unfinished.count) writer(s)")
            await send(.postRestore, to: unfinished, options: EventOptions(succeeded: false))
        }
        let names = participants.values.filter { !$0.sentEvents.isDisjoint(with: [.prepareForBackup, .preRestore]) }.map(\.name).sorted()
        if !names.isEmpty {
            progress("backup-shutdown", "BackupShutdown to \(names.count) writer(s)")
            await send(.backupShutdown, to: names, setId: snapshotSet?.id)
        }
        if let set = snapshotSet {
            if let keepFor, ending?.phase == .backupComplete, backupSucceeded == true {
                await keep(set, for: keepFor)
            } else {
                for problem in await snapshots.delete(set.id) {
                    logger.error("could not remove part of snapshot set \(set.id): \(problem)")
                }
            }
        }
        phase = .closed
    }

    /// Records the set as kept, with its size and each component's consistency; a set that
    /// cannot be recorded is deleted rather than left unlisted.
    private func keep(_ set: SnapshotSet, for duration: Duration) async {
        var totals = TreeSize.Totals()
        for volume in set.volumes {
            if let directory = try? DirectoryHandle.open(absolute: volume.snapshotPath), let size = try? await TreeSize.measure(directory) {
                totals.bytes += size.bytes
                totals.entries += size.entries
            }
        }
        let document = backupDocument
        let record = KeptSnapshotSet(
            id: set.id, sessionId: id, ownerUid: ownerUID, created: set.createdAt, expires: Date().addingTimeInterval(Double(duration.components.seconds)),
            backupType: backupType, volumes: set.volumes, bytes: totals.bytes, files: totals.entries, consistency: document.outcome,
            writers: Dictionary(document.writers.map { writer in
                (writer.metadata.name, Dictionary(writer.components.map { ($0.fullPath, $0.consistency) }, uniquingKeysWith: { $1 }))
            }, uniquingKeysWith: { $1 })
        )
        do {
            try await snapshots.kept.keep(record)
            logger.notice("snapshot set \(set.id) kept until \(record.expires)")
        } catch {
            logger.error("could not record snapshot set \(set.id) as kept, so it is deleted: \(error)")
            for problem in await snapshots.delete(set.id) { logger.error("could not remove part of snapshot set \(set.id): \(problem)") }
        }
    }

    /// Nobody will finish the session (the requester left, it idled too long, or the coordinator
    /// is stopping): abort what is in flight, then close.
    func abandon(reason: String) async {
        logger.warning("abandoning session \(id): \(reason)")
        if [.metadataGathered, .prepared, .snapshotDone, .failed].contains(phase) {
            await abortWriters(setId: snapshotSet?.id)
        }
        await close(reason: reason)
    }

    // MARK: - Status and documents

    /// Every identified writer's status, sorted by name.
    var writerStatus: [WriterStatus] {
        participants.values.map(\.status).sorted { $0.name < $1.name }
    }

    /// Pings every selected writer; those that do not answer become `not-responding`.
    func gatherWriterStatus() async -> [WriterStatus] {
        let caller = self.caller
        let targets = participants.values.filter(\.isSelected).map { ($0.name, $0.owner) }
        let answers = await withTaskGroup(of: (String, Bool).self) { group in
            for (name, owner) in targets { group.addTask { (name, await caller.ping(owner: owner)) } }
            var answers: [String: Bool] = [:]
            for await (name, alive) in group { answers[name] = alive }
            return answers
        }
        for (name, alive) in answers where !alive {
            participants[name]!.markNotResponding("the writer did not answer GatherWriterStatus")
        }
        return writerStatus
    }

    /// The backup document as the session stands: the writers with selected components, and
    /// those left out at Identify (with the reason in their status; the backup is then partial,
    /// since their data, if on the volumes, is only crash-consistent).
    var backupDocument: BackupDocument {
        let writers = participants.values.filter { $0.isSelected || !$0.isIdentified }.sorted { $0.name < $1.name }.map { participant in
            WriterRecord(
                metadata: participant.metadata,
                status: participant.status,
                components: participant.selectedComponents.map { path in
                    ComponentRecord(
                        fullPath: path,
                        consistency: participant.isConsistent(path) ? .applicationConsistent : .crashConsistent,
                        backupMetadata: participant.status.component(path)?.backupMetadata,
                        restoreMetadata: participant.status.component(path)?.restoreMetadata
                    )
                }
            )
        }
        let outcome: BackupOutcome =
            snapshotSet == nil || phase == .failed || phase == .aborted ? .failed
            : writers.allSatisfy({ $0.status.state != .failedAtIdentify && $0.components.allSatisfy { $0.consistency == .applicationConsistent } })
                ? .succeeded : .partial
        return BackupDocument(sessionId: id, backupType: backupType, outcome: outcome, writers: writers, snapshotSet: snapshotSet)
    }

    /// Notes a step of the requester's that failed, for the history.
    func noteFailedStep(_ step: String, _ error: QuiesceError) {
        stepError = "\(step): \(error.code.rawValue): \(error.message)"
    }

    /// How the session ended, for the history (meaningful once it is closed).
    var historyRecord: SessionRecord {
        let lastPhase = ending?.phase ?? phase
        let kind: SessionRecord.Kind = restoreDocument == nil ? .backup : .restore
        let document = backupDocument
        let statuses = participants.values.filter { $0.isSelected || !$0.isIdentified }.map(\.status.withoutMetadata)
        let outcome: BackupOutcome
        switch kind {
        case .backup:
            outcome = lastPhase == .backupComplete && backupSucceeded == true && document.outcome != .failed ? document.outcome : .failed
        case .restore:
            outcome = lastPhase != .restored ? .failed : statuses.contains(where: \.hasFailed) ? .partial : .succeeded
        }
        let consistency = Dictionary(document.writers.map { writer in
            (writer.metadata.name, Dictionary(writer.components.map { ($0.fullPath, $0.consistency) }, uniquingKeysWith: { $1 }))
        }, uniquingKeysWith: { $1 })
        return SessionRecord(
            id: id, kind: kind, ownerUid: ownerUID, started: started, ended: Date(), lastPhase: lastPhase, outcome: outcome,
            endedBecause: ending?.reason ?? "not closed", error: stepError, snapshotSetId: snapshotSet?.id,
            volumes: (snapshotSet?.volumes ?? []).map { SessionRecord.VolumeOutcome(volume: $0.volume, provider: $0.provider) },
            timings: timings,
            writers: statuses.sorted { $0.name < $1.name }.map { SessionRecord.WriterOutcome(status: $0, consistency: kind == .backup ? consistency[$0.name] ?? [:] : [:]) }
        )
    }

    // MARK: - Helpers

    private func activeNames() -> [String] {
        participants.values.filter(\.isActive).map(\.name).sorted()
    }

    private func send(_ event: WriterEvent, to names: [String], setId: String? = nil, options extra: EventOptions = EventOptions()) async {
        let targets = names.compactMap { participants[$0] }.map { participant in
            var options = extra
            options.backupType = backupType
            options.components = participant.selectedComponents
            options.volumes = volumePaths
            options.snapshotSetId = setId
            if setId != nil { options.snapshotGroups = snapshotGroups }
            if event == .freeze { options.lease = .milliseconds(participant.metadata.freezeTimeoutMilliseconds) }
            if event == .preRestore || event == .postRestore, let record = restoreDocument?.writers.first(where: { $0.metadata.name == participant.name }) {
                options.backupMetadata = Dictionary(uniqueKeysWithValues: record.components.compactMap { c in c.backupMetadata.map { (c.fullPath, $0) } })
                options.restoreMetadata = Dictionary(uniqueKeysWithValues: record.components.compactMap { c in c.restoreMetadata.map { (c.fullPath, $0) } })
                options.volumes = nil
                options.restoreTarget = alternateLocation == nil ? .original : .alternate
                if let alternateLocation, let volumes = restoreDocument?.snapshotSet?.volumes {
                    options.alternateLocations = Dictionary(uniqueKeysWithValues: volumes.map { ($0.volume, alternateLocation + $0.volume) })
                }
            }
            return (name: participant.name, owner: participant.owner, options: options)
        }
        // In parallel; each reply is recorded as it arrives, so status shows a dead writer at once.
        let caller = self.caller
        let session = id
        for target in targets { participants[target.name]?.inFlight = event }
        let started = ContinuousClock.now
        defer { timings[event.methodName, default: 0] += (ContinuousClock.now - started).wholeMicroseconds }
        var failed: UInt32 = 0
        defer {
            let elapsed = (ContinuousClock.now - started).wholeMicroseconds
            progress(
                event.kebabCaseName, "\(event.methodName): \(targets.count) writer(s) in \(String(format: "%.1f", Double(elapsed) / 1000)) ms" + (failed > 0 ? ", \(failed) failed" : ""),
                Session1.ProgressDetails(event: event.methodName, writers: UInt32(targets.count), failed: failed, elapsedUs: elapsed)
            )
        }
        var shown: [String: [String: BusValue]] = [:]
        await withTaskGroup(of: (String, String, (reply: EventReply, answered: Bool)).self) { group in
            for target in targets {
                group.addTask { (target.name, target.owner, await caller.send(event, to: target.owner, session: session, options: target.options)) }
            }
            for await (name, owner, (reply, answered)) in group {
                participants[name]?.record(event, reply)
                if answered, !reply.properties.isEmpty { shown[owner] = reply.properties }
                if let failure = reply.result.failure {
                    failed += 1
                    logger.warning("writer \(name) failed \(event.methodName): \(failure.rawValue) \(reply.result.message)", metadata: ["session": "\(id)"])
                    progress(
                        event.kebabCaseName, "writer \(name) failed \(event.methodName): \(failure.rawValue): \(reply.result.message)",
                        Session1.ProgressDetails(writer: name, event: event.methodName, failure: failure)
                    )
                }
            }
        }
        // ListWriters shows what the writers answered now; their PropertiesChanged follows.
        await directory.show(shown)
    }

    /// Reports a step on the session's Progress signal.
    private func progress(_ phase: String, _ message: String, _ details: Session1.ProgressDetails = Session1.ProgressDetails()) {
        emitProgress(phase, message, details)
    }

    /// A writer's connection left the bus: if it is in this session, it is not-responding from
    /// now on (its pending call, if any, fails at once too).
    func writerLeft(owner: String) {
        guard let name = participants.values.first(where: { $0.owner == owner })?.name else { return }
        participants[name]!.markGone()
        if participants[name]!.isSelected {
            progress("writer-left", "writer \(name) left the bus")
        }
    }

    /// Throws `BadState` unless the session's phase allows `step` (``SessionStep/allowedIn``).
    private func require(_ step: SessionStep) throws(QuiesceError) {
        guard step.allowedIn.contains(phase) else {
            throw QuiesceError(.badState, "\(step.rawValue) is not allowed when the session is \(phase.rawValue)")
        }
    }

    /// Moves to the phase `step` leads to.
    private func completed(_ step: SessionStep) {
        if let next = step.phaseOnSuccess { phase = next }
    }

    /// When the requester last called the session.
    private(set) var lastActivity = ContinuousClock.now

    /// Notes a call of the requester (an idle session is reaped after a while).
    func touch() {
        lastActivity = .now
    }

    /// Throws `WriterFailed` if a required writer has failed (e.g. it left the bus between steps).
    private func requireRequiredWriters(for method: String) throws {
        if let failed = participants.values.first(where: { $0.isRequired && $0.status.hasFailed && $0.status.failure != .partialFailure }) {
            phase = .failed
            throw QuiesceError(.writerFailed, "\(method): required writer \(failed.name) has failed: \(failed.status.failure?.rawValue ?? ""): \(failed.status.message)")
        }
    }
}
