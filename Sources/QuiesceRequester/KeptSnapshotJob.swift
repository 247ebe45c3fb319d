import Quiesce

/// A snapshot set made with the writers' cooperation and kept after the session, as `quiescectl
/// snapshot create` makes one (VSS's persistent shadow copy): the usual steps, KeepSnapshotSet,
/// BackupComplete and Close. The writers are told backup type `copy` by default, so none
/// truncates logs or marks files backed up for a snapshot nobody has copied yet.
public struct KeptSnapshotJob: Sendable {
    /// The volumes (absolute directory paths).
    public var volumes: [String]
    /// How long quiesced keeps the set.
    public var keep: Duration
    /// The backup type the writers are told.
    public var backupType: BackupType
    /// The snapshot provider; the coordinator's default when `nil`.
    public var provider: String?
    /// Writers marked required or optional (unmarked writers are optional).
    public var policies: [String: WriterPolicy]
    /// How long to wait for another session's snapshot to finish (`Busy`).
    public var busyWait: Duration

    /// Describes a kept snapshot set.
    public init(
        volumes: [String], keep: Duration, backupType: BackupType = .copy, provider: String? = nil, policies: [String: WriterPolicy] = [:],
        busyWait: Duration = .seconds(600)
    ) {
        self.volumes = volumes
        self.keep = keep
        self.backupType = backupType
        self.provider = provider
        self.policies = policies
        self.busyWait = busyWait
    }

    /// Makes and keeps the set; `report` receives one line per step. Returns the kept set as
    /// quiesced lists it.
    public func run(with client: QuiesceClient, report: @escaping @Sendable (JobEvent) -> Void) async throws -> KeptSnapshotSet {
        let session = try await client.createSession()
        let printer = await session.forwardProgress(to: report)
        defer { printer?.cancel() }
        let set: SnapshotSetResult
        do {
            let steps = SnapshotSteps(volumes: volumes, backupType: backupType, provider: provider, policies: policies, busyWait: busyWait)
            set = try await steps.run(session, report: report).set
            try await session.keepSnapshotSet(for: keep)
            try await session.backupComplete(succeeded: true)
            try await session.close()
        } catch {
            try? await session.abortBackup()
            _ = try? await session.close()
            throw error
        }
        guard let kept = try await client.keptSnapshotSets().first(where: { $0.id == set.id }) else {
            throw QuiesceError(.failed, "quiesced did not keep snapshot set \(set.id); its log says why")
        }
        return kept
    }
}
