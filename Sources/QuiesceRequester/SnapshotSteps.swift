/// The steps every backup takes up to a held snapshot set: Identify, the requester's policies,
/// the volumes, PrepareForBackup and DoSnapshotSet. `BackupJob` then copies the data out;
/// `ExecBackupJob` hands the set to a command.
struct SnapshotSteps: Sendable {
    var volumes: [String]
    var backupType: BackupType
    var provider: String?
    var policies: [String: WriterPolicy]
    /// How long DoSnapshotSet waits for another session's snapshot (`Busy`) to finish, trying
    /// again with a growing pause; zero: Busy fails the steps at once.
    var busyWait: Duration = .zero

    /// Runs the steps on `session`; returns the writers' metadata and the snapshot set. A writer
    /// marked required that is not there, or failed Identify, fails them before anything is frozen.
    func run(_ session: RequesterSession, report: @Sendable (JobEvent) -> Void) async throws -> (metadata: [WriterMetadata], set: SnapshotSetResult) {
        let metadata = try await session.gatherWriterMetadata()
        report(.note("\(metadata.count) writer(s): \(metadata.map(\.name).joined(separator: ", "))"))
        let present = Set(metadata.map(\.name))
        if let missing = policies.filter({ $0.value == .required && !present.contains($0.key) }).keys.sorted().first {
            let failed = try await session.writerStatus().first { $0.name == missing }
            throw QuiesceError(.writerFailed, "required writer \(missing) " + (failed.map { "failed Identify: \($0.message)" } ?? "is not on the bus"))
        }
        let rules = policies.filter { present.contains($0.key) }.map { (writer: $0.key, component: String?.none, policy: $0.value) }
        if !rules.isEmpty { try await session.setWriterPolicy(rules) }
        try await session.addVolumes(volumes)
        try await session.prepareForBackup(type: backupType)
        let set = try await snapshotSet(session, report: report)
        report(.note("snapshot set \(set.id) is ready"))
        return (metadata, set)
    }

    /// DoSnapshotSet, waiting out `Busy` within ``busyWait`` (the session stays prepared).
    private func snapshotSet(_ session: RequesterSession, report: @Sendable (JobEvent) -> Void) async throws -> SnapshotSetResult {
        let deadline = ContinuousClock.now + busyWait
        var pause: Duration = .milliseconds(250)
        while true {
            do {
                return try await session.doSnapshotSet(provider: provider)
            } catch let error as QuiesceError where error.code == .busy && ContinuousClock.now + pause < deadline {
                report(.note("another backup is taking its snapshot (Busy): waiting \(pause) and trying again"))
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(5))
            }
        }
    }
}
