import Foundation

/// What a job (``BackupJob``, ``ExecBackupJob``, ``KeptSnapshotJob``, ``RestoreJob``) reports
/// while it runs: quiesced's steps, data being copied, and the job's own decisions.
/// `description` is the line `quiescectl` prints for it.
public enum JobEvent: Sendable, Hashable, CustomStringConvertible {
    /// A step quiesced reported for the session (its `Progress` signal): a phase starting or
    /// ending, or a writer failing it.
    case step(SessionProgress)
    /// Data being copied: out of the snapshot set (a backup), or staged back (a restore).
    case copying(CopyStatus)
    /// A line of the job's own: a retry decision, a file written, a warning.
    case note(String)

    public var description: String {
        switch self {
        case .step(let step): "[\(step.phase)] \(step.message)"
        case .copying(let status): status.description
        case .note(let text): text
        }
    }
}

/// How far a copy has got: bytes and files so far, out of how many, how fast.
public struct CopyStatus: Sendable, Hashable, CustomStringConvertible {
    /// What is copied (a volume's path).
    public var volume: String
    /// Bytes of file data copied so far.
    public var bytes: Int64
    /// Entries (files, directories, links) copied so far.
    public var files: Int64
    /// Bytes to copy in all, when they were counted first.
    public var totalBytes: Int64?
    /// Entries to copy in all, when they were counted first.
    public var totalFiles: Int64?
    /// Time since the copy began.
    public var elapsed: Duration
    /// Whether the copy is done.
    public var finished: Bool

    /// Creates a status.
    public init(volume: String, bytes: Int64, files: Int64, totalBytes: Int64? = nil, totalFiles: Int64? = nil, elapsed: Duration, finished: Bool = false) {
        self.volume = volume
        self.bytes = bytes
        self.files = files
        self.totalBytes = totalBytes
        self.totalFiles = totalFiles
        self.elapsed = elapsed
        self.finished = finished
    }

    /// Seconds since the copy began.
    public var elapsedSeconds: Double {
        Double(elapsed.wholeMicroseconds) / 1_000_000
    }

    /// Bytes per second so far (0 at the start).
    public var bytesPerSecond: Double {
        elapsedSeconds > 0 ? Double(bytes) / elapsedSeconds : 0
    }

    /// Seconds left at the rate so far, when the total is known and some data moved.
    public var secondsLeft: Double? {
        guard let totalBytes, bytesPerSecond > 0, !finished else { return nil }
        return max(0, Double(totalBytes - bytes) / bytesPerSecond)
    }

    public var description: String {
        let size = { (bytes: Int64) in String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        let amount = totalBytes.map { "\(size(bytes)) of \(size($0))" } ?? size(bytes)
        let count = totalFiles.map { "\(files) of \($0) files" } ?? "\(files) files"
        let rate = String(format: "%.1f MiB/s", bytesPerSecond / 1_048_576)
        if finished { return "copied \(volume): \(amount), \(count) in \(String(format: "%.1f", elapsedSeconds)) s (\(rate))" }
        return "copying \(volume): \(amount), \(count), \(rate)" + (secondsLeft.map { String(format: ", %.0f s left", $0.rounded(.up)) } ?? "")
    }
}
