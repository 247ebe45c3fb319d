import QuiesceCommandLine

/// Everything one benchmark run measured.
struct BenchReport: Codable, Sendable {
    /// One phase at one number of writers.
    struct PhaseResult: Codable, Sendable {
        var writers: Int
        /// Which writers: `swift` (the SDK) or `c` (libdbus-1).
        var kind: String
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
        /// The window with each kind of writer measured (`--window-kinds`), the first one's the
        /// one compared with the hooks.
        var kinds: [KindWindow]
        /// The same hooks, each run by its own quiesce-hook-writer.
        var hookWriters: Statistics
        /// The same number of hooks run one after another as shell scripts.
        var sequentialHooksMilliseconds: Double
        var ratio: Double
    }

    /// The freeze window with one kind of writer.
    struct KindWindow: Codable, Sendable {
        var kind: String
        var quiesce: Statistics
        /// A parallel Ping to the same writers, in rounds alternating with the sessions.
        var floor: Statistics
        /// The median window against its limit: the slowest Freeze plus two Ping floors (the
        /// Freeze fan-out out, and the Thaw fan-out back).
        var limitRatio: Double
        /// Where the window goes: the median of the Freeze fan-out (sent to the last reply), the
        /// snapshot and the Thaw fan-out, in ms.
        var steps: [String: Double]
    }

    /// Session phases while unprivileged clients flood quiesced with ListWriters.
    struct Flood: Codable, Sendable {
        var writers: Int
        var clients: Int
        /// Whether the clients ran as uid 65534 (the benchmark runs them so when it is root).
        var unprivileged: Bool
        var listWritersPerSecond: Double
        /// Per phase: median without the flood, median with it, and their ratio.
        var phases: [String: [Double]]
        /// The largest of the ratios.
        var worstRatio: Double
    }

    /// A process's memory, in KiB.
    struct Memory: Codable, Sendable {
        var rssKiB: Int
        var pssKiB: Int
        var privateKiB: Int

        var summary: String {
            String(format: "RSS %.1f MiB, PSS %.1f MiB, private %.1f MiB", Double(rssKiB) / 1024, Double(pssKiB) / 1024, Double(privateKiB) / 1024)
        }
    }

    var machine: String
    var sessions: Int
    var phases: [PhaseResult] = []
    var allSessionsSucceeded = true
    var freezeWindow: FreezeWindow?
    var flood: Flood?
    var providerWindows: [ProviderWindows.Row] = []
    /// By writer kind.
    var writerIdleMemory: [String: Memory] = [:]
    /// By writer kind.
    var writerStart: [String: Statistics] = [:]
    var coordinatorMemory: [String: Memory] = [:]
    /// Messages and CPU time per writer-event, by number and kind of writers.
    var eventCosts: [EventCost] = []

    var rendered: String {
        var text = "Quiesce benchmark on \(machine), \(sessions) sessions per size\n\n"
        text += Table(
            header: ["WRITERS", "KIND", "PHASE", "MEDIAN ms", "P99 ms", "FLOOR ms", "RATIO"],
            rows: phases.map {
                ["\($0.writers)", $0.kind, $0.phase, format($0.latency.median), format($0.latency.p99), format($0.floor.median), String(format: "%.2f", $0.ratio)]
            }
        ).rendered
        if !eventCosts.isEmpty {
            text += "\n\nPer writer-event: messages the bus routed (calls, replies, signals; of the signals, writers' PropertiesChanged) and CPU time\n"
            text += Table(
                header: ["WRITERS", "KIND", "MESSAGES", "CALLS", "REPLIES", "SIGNALS", "PROPS", "WRITER µs", "QUIESCED µs", "DBUS µs"],
                rows: eventCosts.map { cost in
                    let count = { (type: String) in String(format: "%.2f", cost.messages[type] ?? 0) }
                    let cpu = { (process: String) in String(format: "%.0f", cost.cpuMicroseconds[process] ?? 0) }
                    return [
                        "\(cost.writers)", cost.kind, String(format: "%.2f", cost.totalMessages), count("method-call"), count("method-return"), count("signal"),
                        String(format: "%.2f", cost.writerPropertySignals), cpu("writer"), cpu("quiesced"), cpu("dbus-daemon"),
                    ]
                }
            ).rendered
        }
        if let window = freezeWindow {
            text += "\n"
            for row in window.kinds {
                text += "\nFreeze window, \(window.writers) \(row.kind) writers whose Freeze takes \(format(window.freezeMilliseconds)) ms: "
                text += "median \(format(row.quiesce.median)) ms, p99 \(format(row.quiesce.p99)) ms, "
                text += "\(String(format: "%.2f", row.limitRatio))x its limit (\(format(window.freezeMilliseconds)) ms + 2 x Ping floor \(format(row.floor.median)) ms); "
                text += "Freeze \(format(row.steps["Freeze"] ?? 0)) ms, snapshot \(format(row.steps["snapshot"] ?? 0)) ms, Thaw \(format(row.steps["Thaw"] ?? 0)) ms"
            }
            text += "\n\(window.writers) sequential hook scripts: \(format(window.sequentialHooksMilliseconds)) ms (\(String(format: "%.1f", window.ratio))x the first row)"
            text += "\nFreeze window, \(window.writers) quiesce-hook-writers whose hook sleeps \(format(window.freezeMilliseconds)) ms at freeze: "
            text += "median \(format(window.hookWriters.median)) ms, p99 \(format(window.hookWriters.p99)) ms"
        }
        if let flood {
            text += "\nListWriters flood, \(flood.clients) clients\(flood.unprivileged ? " as uid 65534" : ""), \(flood.writers) writers: "
            text += String(format: "%.0f calls/s answered; ", flood.listWritersPerSecond)
            text += flood.phases.sorted { $0.key < $1.key }.map { "\($0.key) \(format($0.value[0])) -> \(format($0.value[1])) ms" }.joined(separator: ", ")
            text += String(format: "; worst phase %.2fx its time without the flood", flood.worstRatio)
        }
        if !providerWindows.isEmpty {
            text += "\n\nFreeze window by provider and amount of data (one writer, \(sessions) sessions each; freeze uses a fake device snapshot):\n"
            let sizes = Array(Set(providerWindows.map(\.megabytes))).sorted()
            let providers = providerWindows.reduce(into: [String]()) { if !$0.contains($1.provider) { $0.append($1.provider) } }
            text += Table(
                header: ["PROVIDER", "FILESYSTEM"] + sizes.map { "\($0) MiB ms" } + (sizes.count > 1 ? ["RATIO"] : []),
                rows: providers.map { provider in
                    let rows = sizes.map { size in providerWindows.first { $0.provider == provider && $0.megabytes == size } }
                    let medians = rows.map { $0?.window?.median }
                    var row = [provider, rows.compactMap { $0?.filesystem }.first ?? ""] + zip(rows, medians).map { row, median in median.map(format) ?? (row?.failure.map { "failed: \($0.prefix(60))" } ?? "-") }
                    if sizes.count > 1, let first = medians.first ?? nil, let last = medians.last ?? nil, first > 0 { row.append(String(format: "%.2f", last / first)) }
                    return row
                }
            ).rendered
        }
        for (kind, start) in writerStart.sorted(by: { $0.key > $1.key }) {
            guard let memory = writerIdleMemory[kind] else { continue }
            text += "\n\(kind) writer, idle: \(memory.summary); start (exec to name on the bus) median \(format(start.median)) ms, p99 \(format(start.p99)) ms"
        }
        for (writers, memory) in coordinatorMemory.sorted(by: { Int($0.key)! < Int($1.key)! }) {
            text += "\nquiesced with \(writers) writers: \(memory.summary)"
        }
        text += "\nAll sessions succeeded: \(allSessionsSucceeded ? "yes" : "NO")"
        return text
    }

    private func format(_ value: Double) -> String { String(format: value < 10 ? "%.2f" : "%.1f", value) }
}
