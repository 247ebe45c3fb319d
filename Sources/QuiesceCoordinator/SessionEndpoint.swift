import Quiesce
import QuiesceBus
import QuiesceServiceBus
import QuiesceProtocol

/// Answers `org.quiesce.Session1` calls for one ``BackupSession``: checks the caller, and
/// runs the session's steps one at a time. Arguments arrive decoded by the generated layer.
struct SessionEndpoint: Session1Methods {
    let session: BackupSession
    let connection: ServingConnection
    let queue: AsyncSemaphore
    let onClose: @Sendable () async -> Void

    // MARK: - Open to others

    /// Anyone may read the status; the writers' private metadata only its owner and root.
    func getWriterStatus(call: BusMethodCall) async throws -> [WriterStatus] {
        let status = await session.writerStatus
        return try await isOwnerOrRoot(call.sender) ? status : status.map(\.withoutMetadata)
    }

    func getBackupDocument(call: BusMethodCall) async throws -> BackupDocument {
        guard try await isOwnerOrRoot(call.sender) else {
            throw QuiesceError(.accessDenied, "the backup document (snapshot paths, writer metadata) of session \(session.id) is readable only by its owner and root")
        }
        return await session.backupDocument
    }

    // MARK: - The owner's steps

    func gatherWriterMetadata(call: BusMethodCall) async throws -> [WriterMetadata] {
        try await step(call) { try await session.gatherWriterMetadata() }
    }

    func addVolumes(_ volumes: [String], call: BusMethodCall) async throws {
        try await step(call) { try await session.addVolumes(volumes) }
    }

    func selectComponents(_ components: [(writer: String, component: String)], call: BusMethodCall) async throws {
        let pairs = components.map { ($0.writer, $0.component) }
        try await step(call) { try await session.selectComponents(pairs) }
    }

    func setWriterPolicy(_ rules: [(writer: String, component: String, policy: WriterPolicy)], call: BusMethodCall) async throws {
        let rules = rules.map { (writer: $0.writer, component: $0.component, policy: $0.policy) }
        try await step(call) { try await session.setWriterPolicy(rules) }
    }

    func prepareForBackup(_ options: Session1.PrepareForBackupOptions, call: BusMethodCall) async throws {
        try await step(call) { try await session.prepareForBackup(backupType: options.backupType ?? .full) }
    }

    func doSnapshotSet(_ options: Session1.DoSnapshotSetOptions, call: BusMethodCall) async throws -> Session1.DoSnapshotSetResult {
        try await step(call) {
            let (setId, snapshots) = try await session.doSnapshotSet(providerName: options.provider)
            return Session1.DoSnapshotSetResult(snapshotSetId: setId, snapshots: snapshots)
        }
    }

    func backupComplete(_ succeeded: Bool, call: BusMethodCall) async throws {
        try await step(call) { try await session.backupComplete(succeeded: succeeded) }
    }

    func keepSnapshotSet(_ seconds: UInt64, call: BusMethodCall) async throws {
        try await step(call) { try await session.keepSnapshotSet(for: .seconds(Int64(clamping: seconds))) }
    }

    func abortBackup(call: BusMethodCall) async throws {
        try await step(call) { try await session.abortBackup() }
    }

    func gatherWriterStatus(call: BusMethodCall) async throws -> [WriterStatus] {
        try await step(call) { await session.gatherWriterStatus() }
    }

    func preRestore(_ document: String, options: Session1.PreRestoreOptions, call: BusMethodCall) async throws {
        try requireOwner(call)  // before 16 MiB of JSON is read for anyone else
        guard document.utf8.count <= InputLimits.restoreDocumentBytes else {
            throw QuiesceError(.tooLarge, "the backup document is \(document.utf8.count) bytes; the limit is \(InputLimits.restoreDocumentBytes)")
        }
        let parsed = try Wire.json(BackupDocument.self, .string(document), "the backup document")
        try await step(call) { try await session.preRestore(document: parsed, alternateLocation: options.alternateLocation) }
    }

    func postRestore(_ options: Session1.PostRestoreOptions, call: BusMethodCall) async throws {
        try await step(call) { try await session.postRestore(succeeded: options.succeeded ?? true) }
    }

    func close(call: BusMethodCall) async throws -> [WriterStatus] {
        try await step(call) {
            await session.close()
            await onClose()
            return await session.writerStatus
        }
    }

    // MARK: - Helpers

    /// Runs one step of the owner's, after the steps before it; a step that fails is noted in
    /// the session's history.
    private func step<T: Sendable>(_ call: BusMethodCall, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try requireOwner(call)
        await session.touch()
        do {
            return try await queue.withPermit { try await body() }
        } catch {
            await session.noteFailedStep(call.method, QuiesceError(error))
            throw error
        }
    }

    /// Throws `AccessDenied` unless the call comes from the connection that created the session.
    private func requireOwner(_ call: BusMethodCall) throws(QuiesceError) {
        guard call.sender == session.owner else {
            throw QuiesceError(.accessDenied, "only the connection that created session \(session.id) may drive it")
        }
    }

    /// Whether `sender` runs as the session owner's user or as root.
    private func isOwnerOrRoot(_ sender: String) async throws -> Bool {
        if sender == session.owner { return true }
        let uid = try await connection.unixUser(of: sender)
        return uid == 0 || uid == session.ownerUID
    }

    /// Aborts and closes the session after the step in progress, if any.
    func abandon(reason: String) async {
        await queue.withPermit {
            await session.abandon(reason: reason)
            await onClose()
        }
    }
}
