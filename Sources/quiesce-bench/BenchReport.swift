import QuiesceCommandLine

/// Everything one benchmark run measured.
struct BenchReport: Codable, Sendable {
    /// One phase at one number of writers.
    struct PhaseResult: Codable, Sendable {
        var writers: Int
        var phase: String
        var latency: Statistics
        var floor: Statistics
        /// The phase's median over the floor's median.
        var ratio: Double
    }

    /// The freeze window with writers whose Freeze takes `freezeMilliseconds`.
    struct FreezeWindow: Codable, Sendable {
        var writers: Int
        var freezeMilliseconds: Double
        var quiesce: Statistics
        /// The same number of hooks run one after another as shell scripts.
        var sequentialHooksMilliseconds: Double
        var ratio: Double
    }

    var machine: String
    var sessions: Int
    var phases: [PhaseResult] = []
    var allSessionsSucceeded = true
    var freezeWindow: FreezeWindow?
    var writerIdleRSSKiB: Int = 0
    var writerStart: Statistics?
    var coordinatorRSSKiB: [String: Int] = [:]

    var rendered: String {
        var text = "Quiesce benchmark on \(machine), \(sessions) sessions per size\n\n"
        text += Table(
            header: ["WRITERS", "PHASE", "MEDIAN ms", "P99 ms", "FLOOR ms", "RATIO"],
            rows: phases.map {
                ["\($0.writers)", $0.phase, format($0.latency.median), format($0.latency.p99), format($0.floor.median), String(format: "%.2f", $0.ratio)]
            }
        ).rendered
        if let window = freezeWindow {
            text += "\n\nFreeze window, \(window.writers) writers whose Freeze takes \(format(window.freezeMilliseconds)) ms: "
            text += "median \(format(window.quiesce.median)) ms, p99 \(format(window.quiesce.p99)) ms; "
            text += "\(window.writers) sequential hook scripts: \(format(window.sequentialHooksMilliseconds)) ms (\(String(format: "%.1f", window.ratio))x longer)"
        }
        if let start = writerStart {
            text += "\nWriter: idle RSS \(writerIdleRSSKiB / 1024) MiB (\(writerIdleRSSKiB) KiB); start (exec to name on the bus) median \(format(start.median)) ms, p99 \(format(start.p99)) ms"
        }
        for (writers, rss) in coordinatorRSSKiB.sorted(by: { Int($0.key)! < Int($1.key)! }) {
            text += "\nquiesced RSS with \(writers) writers: \(rss / 1024) MiB (\(rss) KiB)"
        }
        text += "\nAll sessions succeeded: \(allSessionsSucceeded ? "yes" : "NO")"
        return text
    }

    private func format(_ value: Double) -> String { String(format: value < 10 ? "%.2f" : "%.1f", value) }
}
