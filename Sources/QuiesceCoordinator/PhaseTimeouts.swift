import Foundation
import Quiesce
import QuiesceProtocol

/// How long the coordinator waits for a writer to answer each event. A writer that does not
/// answer in time is reported `not-responding` and the others go on.
public struct PhaseTimeouts: Sendable, Hashable {
    private var values: [WriterEvent: Duration]

    /// The defaults: short for Identify, Freeze, Thaw and Abort, longer for preparation.
    public static let defaults = PhaseTimeouts(values: [
        .identify: .seconds(10),
        .prepareForBackup: .seconds(60),
        .prepareForSnapshot: .seconds(120),
        .freeze: .seconds(20),
        .thaw: .seconds(20),
        .postSnapshot: .seconds(60),
        .abort: .seconds(20),
        .backupComplete: .seconds(60),
        .backupShutdown: .seconds(20),
        .preRestore: .seconds(60),
        .postRestore: .seconds(60),
    ])

    /// The timeout for `event`.
    public subscript(event: WriterEvent) -> Duration {
        get { values[event] ?? .seconds(60) }
        set { values[event] = newValue }
    }

    /// Parses `event=seconds` (e.g. `freeze=5`, `prepare-for-snapshot=30`, `Freeze=0.5`) and
    /// sets that timeout.
    public mutating func apply(_ setting: String) throws(QuiesceError) {
        let parts = setting.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let seconds = Double(parts[1]), seconds > 0, seconds <= 3600 else {
            throw QuiesceError(.invalidArgument, "timeout '\(setting)' must look like freeze=5 (seconds, at most 3600)")
        }
        let key = parts[0].replacingOccurrences(of: "-", with: "").lowercased()
        guard let event = WriterEvent.allCases.first(where: { $0.methodName.lowercased() == key }) else {
            throw QuiesceError(.invalidArgument, "unknown event '\(parts[0])' in timeout '\(setting)'")
        }
        values[event] = .milliseconds(Int64(seconds * 1000))
    }
}
