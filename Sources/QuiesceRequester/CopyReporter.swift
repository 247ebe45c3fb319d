import QuiesceFiles

/// Turns a tree copy's progress into ``JobEvent/copying(_:)`` reports, with the totals counted
/// before the copy (for a rate and the time left) and the time since it began.
struct CopyReporter: Sendable {
    let volume: String
    let totals: TreeSize.Totals?
    let started = ContinuousClock.now
    let report: @Sendable (JobEvent) -> Void

    /// Counts what `source` holds, then reports the start of its copy.
    static func start(_ volume: String, source: DirectoryHandle, report: @escaping @Sendable (JobEvent) -> Void) async -> CopyReporter {
        let reporter = CopyReporter(volume: volume, totals: try? await TreeSize.measure(source), report: report)
        reporter.report(.copying(reporter.status(bytes: 0, files: 0, finished: false)))
        return reporter
    }

    /// A progress report of the copy.
    func progress(_ progress: CopyProgress) {
        report(.copying(status(bytes: progress.bytes, files: Int64(progress.entries), finished: false)))
    }

    /// The copy is done.
    func finished(_ summary: CopySummary) {
        report(.copying(status(bytes: summary.bytes, files: Int64(summary.entries), finished: true)))
    }

    private func status(bytes: Int64, files: Int64, finished: Bool) -> CopyStatus {
        CopyStatus(
            volume: volume, bytes: bytes, files: files, totalBytes: totals?.bytes, totalFiles: totals?.entries,
            elapsed: ContinuousClock.now - started, finished: finished
        )
    }
}
