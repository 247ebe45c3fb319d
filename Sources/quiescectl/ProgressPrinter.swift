import Foundation
import Glibc
import Quiesce
import QuiesceRequester

/// Shows a job's events the way its reader wants them:
/// - on a terminal (standard error is one): a line per step, and one status line that a copy
///   keeps redrawing with bytes and files so far, the rate and the time left;
/// - otherwise (a log, a pipe): a line per step, and a copy only when it is done;
/// - with `--json`: every event as one JSON object per line on standard output, for scripts,
///   ending with a `result` line (``ProgressLine``).
final class ProgressPrinter: @unchecked Sendable {
    enum Mode { case terminal, lines, json }

    let mode: Mode
    private let lock = NSLock()
    /// Whether the terminal's last line is a status line to be replaced.
    private var statusShown = false

    init(json: Bool) {
        mode = json ? .json : isatty(STDERR_FILENO) == 1 ? .terminal : .lines
    }

    /// Shows one event.
    func show(_ event: JobEvent) {
        lock.withLock {
            switch mode {
            case .json:
                emit(ProgressLine(event))
            case .terminal:
                if case .copying(let status) = event, !status.finished {
                    write("\r\u{1B}[K" + String(status.description.prefix(terminalWidth - 1)))
                    statusShown = true
                } else {
                    write((statusShown ? "\r\u{1B}[K" : "") + event.description + "\n")
                    statusShown = false
                }
            case .lines:
                if case .copying(let status) = event, !status.finished { return }
                write(event.description + "\n")
            }
        }
    }

    /// A writer's result, as a `writer` line (JSON only).
    func show(writer record: WriterRecord) {
        guard mode == .json else { return }
        lock.withLock { emit(.writer(record)) }
    }

    /// The end of the job: in JSON, the `result` line (on a terminal the status line is cleared).
    func finish(_ result: ProgressLine) {
        lock.withLock {
            if mode == .json { emit(result) }
            if statusShown { write("\r\u{1B}[K") }
            statusShown = false
        }
    }

    private func emit(_ line: ProgressLine) {
        guard let text = try? JSONCoding.encode(line) else { return }
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    private var terminalWidth: Int {
        var size = winsize()
        return ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 20 ? Int(size.ws_col) : 80
    }
}

/// One line of `--json` output. `type` says which keys it has:
/// - `step`: `phase`, `message`, and from quiesced's details `writer`, `event`, `failure`,
///   `writers`, `failed`, `elapsed-us`;
/// - `copy`: `volume`, `bytes`, `files`, `total-bytes`, `total-files`, `bytes-per-second`,
///   `seconds-left`, `finished`;
/// - `note`: `message`;
/// - `writer`: a writer's result in the backup: `writer`, `state`, `failure`, `message`,
///   `consistency`;
/// - `result`: `outcome` (`succeeded`, `partial`, `failed`), `exit-status`, `message`, and what
///   the command made (`document`, `kept-set`, `writer-status`).
struct ProgressLine: Encodable {
    var type: String
    var time = Date()
    var phase: String?
    var message: String?
    var writer: String?
    var event: String?
    var failure: String?
    var state: String?
    var writers: UInt32?
    var failed: UInt32?
    var elapsedUs: UInt64?
    var volume: String?
    var bytes: Int64?
    var files: Int64?
    var totalBytes: Int64?
    var totalFiles: Int64?
    var bytesPerSecond: Double?
    var secondsLeft: Double?
    var finished: Bool?
    var consistency: [String: Consistency]?
    var outcome: String?
    var exitStatus: Int32?
    var document: BackupDocument?
    var keptSet: KeptSnapshotSet?
    var writerStatus: [WriterStatus]?

    init(type: String) {
        self.type = type
    }

    init(_ jobEvent: JobEvent) {
        switch jobEvent {
        case .step(let step):
            type = "step"
            phase = step.phase
            message = step.message
            writer = step.details.writer
            event = step.details.event
            failure = step.details.failure?.rawValue
            writers = step.details.writers
            failed = step.details.failed
            elapsedUs = step.details.elapsedUs
        case .copying(let status):
            type = "copy"
            volume = status.volume
            bytes = status.bytes
            files = status.files
            totalBytes = status.totalBytes
            totalFiles = status.totalFiles
            bytesPerSecond = status.bytesPerSecond.rounded()
            secondsLeft = status.secondsLeft.map { $0.rounded(.up) }
            finished = status.finished
        case .note(let text):
            type = "note"
            message = text
        }
    }

    /// A writer's result in a backup document.
    static func writer(_ record: WriterRecord) -> ProgressLine {
        var line = ProgressLine(type: "writer")
        line.writer = record.metadata.name
        line.state = record.status.state.rawValue
        line.failure = record.status.failure?.rawValue
        line.message = record.status.message
        line.consistency = Dictionary(record.components.map { ($0.fullPath, $0.consistency) }, uniquingKeysWith: { $1 })
        return line
    }

    /// The end of a command.
    static func result(_ outcome: String, exitStatus: Int32, message: String? = nil) -> ProgressLine {
        var line = ProgressLine(type: "result")
        line.outcome = outcome
        line.exitStatus = exitStatus
        line.message = message
        return line
    }
}
