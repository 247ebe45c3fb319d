import Quiesce

/// The veto, failure-message and metadata setters, with VSS's rules on where each may be used.
/// Every setter must be called from the handler's own task while it runs, and throws
/// ``WriterUsageError`` when used where it is not allowed: never a silent no-op.
extension Writer {
    /// Vetoes the event being handled with `code` and an explanation for the requester. The
    /// event fails whatever the handler then returns. Allowed in every handler but Identify.
    public func setWriterFailure(_ code: FailureCode, message: String = "") throws(WriterUsageError) {
        guard code != .notResponding, code != .statusNotAvailable else { throw .reservedFailureCode(code) }
        let report = try Self.report("setWriterFailure")
        report.setFailure(.init(code: code, message: message))
    }

    /// Explains why a component could not be prepared. Only in ``onPrepareBackup(_:)``.
    public func setPrepareForBackupFailureMessage(_ message: String, component: String) throws(WriterUsageError) {
        try setFailureMessage("setPrepareForBackupFailureMessage", message, component: component, event: .prepareForBackup)
    }

    /// Explains why PostSnapshot failed for a component. Only in ``onPostSnapshot(_:)``.
    public func setPostSnapshotFailureMessage(_ message: String, component: String) throws(WriterUsageError) {
        try setFailureMessage("setPostSnapshotFailureMessage", message, component: component, event: .postSnapshot)
    }

    /// Explains why a component cannot be restored. Only in ``onPreRestore(_:)``.
    public func setPreRestoreFailureMessage(_ message: String, component: String) throws(WriterUsageError) {
        try setFailureMessage("setPreRestoreFailureMessage", message, component: component, event: .preRestore)
    }

    /// Explains what went wrong after a component was restored. Only in ``onPostRestore(_:)``.
    public func setPostRestoreFailureMessage(_ message: String, component: String) throws(WriterUsageError) {
        try setFailureMessage("setPostRestoreFailureMessage", message, component: component, event: .postRestore)
    }

    /// Stores private data with the backup of a component (a log position, a backup label).
    /// Once per component and session, from PrepareForBackup to PostSnapshot.
    public func setBackupMetadata(_ metadata: String, component: String) throws(WriterUsageError) {
        try Self.report("setBackupMetadata").setMetadata(
            "setBackupMetadata", metadata, component: component,
            allowedIn: [.prepareForBackup, .prepareForSnapshot, .freeze, .thaw, .postSnapshot], restore: false
        )
    }

    /// Stores data the writer wants back when the component is restored. Once per component
    /// and session, in PrepareForBackup or PreRestore.
    public func setRestoreMetadata(_ metadata: String, component: String) throws(WriterUsageError) {
        try Self.report("setRestoreMetadata").setMetadata(
            "setRestoreMetadata", metadata, component: component, allowedIn: [.prepareForBackup, .preRestore], restore: true
        )
    }

    /// Reports that one component failed (VSS's component `SetFailure`). Unless the handler set
    /// another writer failure, the writer fails the event with `partial-failure`: the other
    /// components stay in the backup. Allowed in every handler but Identify.
    public func setComponentFailure(component: String, code: FailureCode, applicationError: Int32 = 0, message: String = "") throws(WriterUsageError) {
        guard code != .notResponding, code != .statusNotAvailable, code != .partialFailure else { throw .reservedFailureCode(code) }
        let report = try Self.report("setComponentFailure")
        try report.update("setComponentFailure", component: component, allowedIn: WriterEvent.allCases.filter { $0 != .identify }) {
            (status, _) throws(WriterUsageError) in
            status.failure = ComponentFailure(code: code, applicationError: applicationError, message: message)
        }
    }

    private func setFailureMessage(_ setter: String, _ message: String, component: String, event: WriterEvent) throws(WriterUsageError) {
        try Self.report(setter).update(setter, component: component, allowedIn: [event]) { (status, _) throws(WriterUsageError) in
            status.failureMessages[event.methodName] = message
        }
    }

    private static func report(_ setter: String) throws(WriterUsageError) -> EventReport {
        guard let report = EventReport.current else { throw .notInHandler(setter: setter) }
        return report
    }
}

extension Writer {
    /// Vetoes the event with `inconsistent-snapshot` unless every one of `paths` lies on a volume
    /// of the snapshot set (the writer's data is split over volumes and the requester chose only
    /// some). Returns whether they all do.
    @discardableResult
    public func vetoUnlessFilesAreInSnapshotSet(_ paths: [String], _ session: WriterSession) throws(WriterUsageError) -> Bool {
        let outside = session.pathsOutsideSnapshotSet(paths)
        guard outside.isEmpty else {
            try setWriterFailure(.inconsistentSnapshot, message: "not in the snapshot set: \(outside.joined(separator: ", ")); add their volumes")
            return false
        }
        return true
    }
}
