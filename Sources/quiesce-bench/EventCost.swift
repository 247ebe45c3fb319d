import Foundation

/// What one writer-event costs the machine, beyond its latency: the messages dbus-daemon routes
/// for it (counted by a `dbus-monitor --profile` connection during extra sessions) and the CPU
/// time of the writers, quiesced and dbus-daemon (from /proc/PID/stat during extra sessions
/// without a monitor). Every session sends each writer eight events (Identify to BackupShutdown).
struct EventCost: Codable, Sendable {
    /// The events each writer receives in one session.
    static let eventsPerSession = 8

    var writers: Int
    var kind: String
    /// Messages per writer-event, by `dbus-monitor` type: method calls, replies, errors, signals.
    var messages: [String: Double]
    /// Of the signals, those that are a writer's PropertiesChanged, per writer-event.
    var writerPropertySignals: Double
    /// CPU time per writer-event, in microseconds, by process: the writer (one writer's time for
    /// one event), quiesced and dbus-daemon (their time divided among every writer-event).
    var cpuMicroseconds: [String: Double]

    /// All messages per writer-event.
    var totalMessages: Double { messages.values.reduce(0, +) }

    /// Counts the messages of `sessions` sessions run by `body` on the bus at `address`.
    static func countMessages(address: String, directory: String, sessions: Int, writers: Int, _ body: () async throws -> Void) async throws -> (byType: [String: Double], propertySignals: Double) {
        let output = directory + "/monitor.txt"
        let monitor = try BenchEnvironment.spawn("/usr/bin/stdbuf", ["-oL", "/usr/bin/dbus-monitor", "--address", address, "--profile"], output: output)
        defer { if monitor.isRunning { kill(monitor.processIdentifier, SIGKILL) } }
        // dbus-monitor prints its header once it is a monitor.
        let deadline = ContinuousClock.now + .seconds(10)
        while ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").isEmpty {
            guard ContinuousClock.now < deadline, monitor.isRunning else { throw BenchFailure("dbus-monitor did not start") }
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(100))
        let before = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").count
        try await body()
        try await Task.sleep(for: .milliseconds(300))  // the writers' last property signals
        kill(monitor.processIdentifier, SIGKILL)
        monitor.waitUntilExit()
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").dropFirst(before)
        var counts: [String: Double] = [:]
        var propertySignals = 0.0
        for line in lines {
            let fields = line.split(separator: "\t")
            guard let type = fields.first, ["mc", "mr", "err", "sig"].contains(type) else { continue }
            counts[String(type), default: 0] += 1
            if type == "sig", fields.count >= 8, fields[6] == "org.freedesktop.DBus.Properties", fields[5] == "/org/quiesce/Writer" { propertySignals += 1 }
        }
        let writerEvents = Double(sessions * writers * eventsPerSession)
        let names = ["mc": "method-call", "mr": "method-return", "err": "error", "sig": "signal"]
        return (Dictionary(uniqueKeysWithValues: counts.map { (names[$0.key]!, $0.value / writerEvents) }), propertySignals / writerEvents)
    }

    /// CPU time (user and system) a process has used so far, in microseconds.
    static func cpuTime(of pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let afterName = stat.range(of: ") ", options: .backwards)
        else { return 0 }
        // Fields after the command name start at field 3 (state); utime and stime are fields 14 and 15.
        let fields = stat[afterName.upperBound...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) * 1_000_000 / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
