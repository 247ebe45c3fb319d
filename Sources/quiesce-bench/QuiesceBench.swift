import ArgumentParser
import Foundation
import Quiesce
import QuiesceProtocol
import QuiesceBus
import QuiesceCommandLine
import QuiesceRequester

/// `quiesce-bench`: fan-out latency, freeze window and footprint, beside the D-Bus floor and
/// sequential hooks.
@main
struct QuiesceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiesce-bench",
        abstract: "Measure Quiesce against the D-Bus floor and sequential freeze hooks (use a release build).",
        subcommands: [Run.self],
        defaultSubcommand: Run.self
    )
}

/// `quiesce-bench run`.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the benchmark and print a table.")

    @Option(help: "Numbers of writers, comma-separated.")
    var writers = "1,10,100,200"

    @Option(help: "Measured sessions per number of writers.")
    var sessions = 20

    @Option(help: "Writers whose fan-out is measured, comma-separated: swift (the SDK), swift-settle-0 (the SDK announcing its properties after every event), c (libdbus-1), c-settle-0 (the C writer announcing after every event).")
    var kinds = "swift,c"

    @Option(help: "Writers for the freeze-window measurement (0 to skip).")
    var windowWriters = 100

    @Option(help: "Writers whose freeze window is measured, comma-separated: swift (the SDK) and/or c (libdbus-1).")
    var windowKinds = "swift,c"

    @Option(help: "How long each writer's Freeze takes in the freeze-window measurement, in ms.")
    var freezeMs = 100

    @Option(help: "Clients flooding quiesced with ListWriters while sessions run (0 to skip).")
    var floodClients = 4

    @Option(help: "Writers for the flood measurement.")
    var floodWriters = 10

    @Option(help: ArgumentHelp("The flood client (python3-dbus).", valueName: "path"))
    var floodScript = "scripts/list-writers-flood.py"

    @Option(help: "Volume sizes in MiB for the freeze window per provider (btrfs, freeze, copy; root only; empty to skip).")
    var providerSizes = "64,2048"

    @Option(help: "Starts of each database writer (PostgreSQL, MariaDB) against a server made for it, for its start time and idle memory (0 to skip).")
    var databaseStarts = 5

    @Flag(help: "Print JSON instead of the table.")
    var json = false

    private var writerKinds: [WriterKind] { Self.kinds(kinds) }

    private var windowWriterKinds: [WriterKind] { Self.kinds(windowKinds) }

    private static func kinds(_ list: String) -> [WriterKind] {
        list.split(separator: ",").compactMap { WriterKind(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
    }

    func validate() throws {
        guard !writerKinds.isEmpty, writerKinds.allSatisfy({ $0 != .hook }) else { throw ValidationError("--kinds must list swift, swift-settle-0, c and/or c-settle-0") }
        guard !counts.isEmpty, counts.allSatisfy({ (1...1000).contains($0) }) else { throw ValidationError("--writers must list numbers from 1 to 1000") }
        guard sessions >= 1 else { throw ValidationError("--sessions must be at least 1") }
        guard !windowWriterKinds.isEmpty, windowWriterKinds.allSatisfy({ $0 == .swift || $0 == .c }) else { throw ValidationError("--window-kinds must list swift and/or c") }
    }

    private var counts: [Int] { writers.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    static let phases: [WriterEvent] = [.identify, .prepareForBackup, .prepareForSnapshot, .freeze, .thaw, .postSnapshot, .backupComplete]

    func run() async throws {
        var report = BenchReport(machine: Self.machine(), sessions: sessions)
        for count in counts {
            for kind in writerKinds {
                try await measurePhases(writers: count, kind: kind, into: &report)
            }
        }
        if windowWriters > 0 {
            report.freezeWindow = try await freezeWindow()
        }
        if floodClients > 0 {
            report.flood = try await floodEffect()
        }
        for database in [DatabaseWriterFootprint.Database.postgres, .mariadb] where databaseStarts > 0 {
            do {
                try await DatabaseWriterFootprint(database: database, starts: databaseStarts, log: log).measure(into: &report)
            } catch {
                report.allSessionsSucceeded = false
                log("\(database.rawValue) writer: \(error)")
            }
        }
        let sizes = providerSizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        if !sizes.isEmpty {
            report.providerWindows = try await ProviderWindows(sizes: sizes, sessions: sessions, log: log).measure()
        }
        print(json ? try JSONCoding.encode(report, pretty: true) : report.rendered)
        if !report.allSessionsSucceeded { throw ExitCode(1) }
    }

    /// The phases of `sessions` sessions with `count` writers of `kind`, and a Ping floor taken
    /// in rounds alternating with them.
    private func measurePhases(writers count: Int, kind: WriterKind, into report: inout BenchReport) async throws {
        log("\(count) \(kind.rawValue) writer(s): starting")
        let environment = try await BenchEnvironment.start()
        do {
            let starts = try await environment.startWriters(count, freezeDelay: .zero, kind: kind)
            if report.writerStart[kind.rawValue] == nil {
                try await Task.sleep(for: .milliseconds(500))
                report.writerStart[kind.rawValue] = Statistics(starts.map(\.milliseconds))
                let memories = environment.writers.map(BenchEnvironment.memory).sorted { $0.rssKiB < $1.rssKiB }
                report.writerIdleMemory[kind.rawValue] = memories[memories.count / 2]
            }
            // Sessions and floor rounds alternate, so that both see the machine in the same state.
            var samples: [String: [Double]] = [:]
            var floorSamples: [Double] = []
            for iteration in 0..<(sessions + 2) {
                let timings = try await Self.session(environment, expecting: count)
                let ping = try await Self.floorRound(environment, writers: count)
                if iteration >= 2 {  // two warm-up rounds
                    for (phase, microseconds) in timings { samples[phase, default: []].append(Double(microseconds) / 1000) }
                    floorSamples.append(ping)
                }
            }
            let floor = Statistics(floorSamples)
            for phase in Self.phases {
                let latency = Statistics(samples[phase.methodName] ?? [])
                report.phases.append(.init(
                    writers: count, kind: kind.rawValue, phase: phase.methodName, latency: latency, floor: floor,
                    ratio: floor.median > 0 ? latency.median / floor.median : 0
                ))
            }
            if kind == .swift { report.coordinatorMemory["\(count)"] = BenchEnvironment.memory(environment.coordinator) }
            report.eventCosts.append(try await eventCost(environment, writers: count, kind: kind))
        } catch {
            report.allSessionsSucceeded = false
            log("\(count) \(kind.rawValue) writer(s): \(error)")
        }
        await environment.stop()
    }

    /// The messages and CPU time per writer-event: `sessions` more sessions with nothing else
    /// running for the CPU time, then three under a monitor for the messages.
    private func eventCost(_ environment: BenchEnvironment, writers count: Int, kind: WriterKind) async throws -> EventCost {
        let processes = ["writer": environment.writers.map(\.processIdentifier), "quiesced": [environment.coordinator.processIdentifier], "dbus-daemon": [environment.daemon.processIdentifier]]
        let before = processes.mapValues { $0.map(EventCost.cpuTime).reduce(0, +) }
        for _ in 0..<sessions { _ = try await Self.session(environment, expecting: count) }
        let writerEvents = Double(sessions * count * EventCost.eventsPerSession)
        let cpu = processes.mapValues { $0.map(EventCost.cpuTime).reduce(0, +) }.merging(before) { after, before in (after - before) / writerEvents }
        let monitored = 3
        let messages = try await EventCost.countMessages(address: environment.address, directory: environment.directory, sessions: monitored, writers: count) {
            for _ in 0..<monitored { _ = try await Self.session(environment, expecting: count) }
        }
        return EventCost(writers: count, kind: kind.rawValue, messages: messages.byType, writerPropertySignals: messages.propertySignals, cpuMicroseconds: cpu)
    }

    /// One whole session with the null provider; returns the coordinator's timings, or throws if
    /// any writer failed.
    static func session(_ environment: BenchEnvironment, expecting count: Int) async throws -> [String: UInt64] {
        let session = try await QuiesceClient(connection: environment.connection).createSession()
        let metadata = try await session.gatherWriterMetadata()
        guard metadata.count == count else { throw BenchFailure("Identify answered by \(metadata.count) of \(count) writers") }
        try await session.addVolumes([environment.volume])
        try await session.prepareForBackup()
        _ = try await session.doSnapshotSet(provider: "null")
        try await session.backupComplete(succeeded: true)
        let timings = try await environment.connection.call(
            destination: BusNames.coordinator, path: session.path, interface: "org.freedesktop.DBus.Properties", method: "Get",
            arguments: [.string(Session1.name), .string("Timings")]
        ).first?.stringKeyedDictionary ?? [:]
        let statuses = try await session.close()
        guard statuses.count == count, statuses.allSatisfy({ !$0.hasFailed }) else {
            throw BenchFailure("a writer failed: \(statuses.filter(\.hasFailed).map(\.message))")
        }
        return timings.compactMapValues(\.uint64Value)
    }

    /// One round of the floor, in ms: one libdbus-1 connection pings every writer in parallel
    /// (at most 120 in flight, like the coordinator, under the bus's 128 pending replies).
    static func floorRound(_ environment: BenchEnvironment, writers: Int) async throws -> Double {
        let connection = environment.pinger
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<writers {
                if index >= 120 { try await group.next() }
                group.addTask {
                    _ = try await connection.call(destination: BusNames.writerBusName("bench\(index)"), path: BusNames.writerPath, interface: "org.freedesktop.DBus.Peer", method: "Ping")
                }
            }
            try await group.waitForAll()
        }
        return (ContinuousClock.now - started).milliseconds
    }

    /// The freeze window with slow-freezing writers of each kind, beside the same hooks run by
    /// hook writers and one by one.
    func freezeWindow() async throws -> BenchReport.FreezeWindow {
        var rows: [BenchReport.KindWindow] = []
        for kind in windowWriterKinds {
            log("freeze window: \(windowWriters) \(kind.rawValue) writers whose Freeze takes \(freezeMs) ms")
            let environment = try await BenchEnvironment.start()
            do {
                rows.append(try await measureFreezeWindow(environment, kind: kind))
                await environment.stop()
            } catch {
                await environment.stop()
                throw error
            }
        }
        // The same hooks as hook writers, one per hook, freezing in parallel.
        let hookEnvironment = try await BenchEnvironment.start()
        var hookWindows: [Double] = []
        let sequential: Double
        do {
            _ = try await hookEnvironment.startWriters(windowWriters, freezeDelay: .milliseconds(freezeMs), kind: .hook)
            for iteration in 0..<7 {
                let timings = try await Self.session(hookEnvironment, expecting: windowWriters)
                if iteration >= 2, let window = timings["freeze-window"] { hookWindows.append(Double(window) / 1000) }
            }
            sequential = try await sequentialHooks(in: hookEnvironment.directory + "/hooks")
            await hookEnvironment.stop()
        } catch {
            await hookEnvironment.stop()
            throw error
        }
        return .init(
            writers: windowWriters, freezeMilliseconds: Double(freezeMs), kinds: rows, hookWriters: Statistics(hookWindows),
            sequentialHooksMilliseconds: sequential, ratio: sequential / rows[0].quiesce.median
        )
    }

    /// What fsfreeze-hook.d and backupScripts.d do: the same hooks run one after another, in ms.
    private func sequentialHooks(in hooks: String) async throws -> Double {
        try FileManager.default.createDirectory(atPath: hooks, withIntermediateDirectories: true)
        for index in 0..<windowWriters {
            try "#!/bin/sh\nsleep \(Double(freezeMs) / 1000)\n".write(toFile: hooks + "/\(String(format: "%03d", index))-app", atomically: true, encoding: .utf8)
        }
        let started = ContinuousClock.now
        let runner = try BenchEnvironment.spawn("/bin/sh", ["-c", "for hook in \(hooks)/*; do /bin/sh \"$hook\" freeze; done"])
        while runner.isRunning { try await Task.sleep(for: .milliseconds(5)) }
        return (ContinuousClock.now - started).milliseconds
    }

    /// Seven sessions with writers of `kind` (the first two not counted), each followed by a
    /// round of the Ping floor to the same writers.
    private func measureFreezeWindow(_ environment: BenchEnvironment, kind: WriterKind) async throws -> BenchReport.KindWindow {
        _ = try await environment.startWriters(windowWriters, freezeDelay: .milliseconds(freezeMs), kind: kind)
        var windows: [Double] = []
        var floorSamples: [Double] = []
        var stepSamples: [String: [Double]] = [:]
        for iteration in 0..<7 {
            let timings = try await Self.session(environment, expecting: windowWriters)
            let ping = try await Self.floorRound(environment, writers: windowWriters)
            if iteration >= 2, let window = timings["freeze-window"] {
                windows.append(Double(window) / 1000)
                floorSamples.append(ping)
                for step in ["Freeze", "snapshot", "Thaw"] { stepSamples[step, default: []].append(Double(timings[step] ?? 0) / 1000) }
            }
        }
        let quiesce = Statistics(windows)
        let floor = Statistics(floorSamples)
        return .init(
            kind: kind.rawValue, quiesce: quiesce, floor: floor, limitRatio: quiesce.median / (Double(freezeMs) + 2 * floor.median),
            steps: stepSamples.mapValues { Statistics($0).median }
        )
    }

    /// Session phases with and without unprivileged clients calling ListWriters as fast as they
    /// can (as uid 65534 when the benchmark is root).
    func floodEffect() async throws -> BenchReport.Flood {
        log("flood: \(floodClients) ListWriters clients, \(floodWriters) writers")
        let environment = try await BenchEnvironment.start()
        var clients: [Process] = []
        do {
            _ = try await environment.startWriters(floodWriters, freezeDelay: .zero)
            let quiet = try await medians(environment)
            let unprivileged = getuid() == 0
            let script = URL(fileURLWithPath: floodScript).standardizedFileURL.path
            let command = unprivileged ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3"] : ["/usr/bin/python3"]
            let counts = environment.directory + "/flood"
            try FileManager.default.createDirectory(atPath: counts, withIntermediateDirectories: true)
            let started = ContinuousClock.now
            for index in 0..<floodClients {
                clients.append(try BenchEnvironment.spawn(command[0], Array(command.dropFirst()) + [script, environment.address, "3600"], output: counts + "/\(index)"))
            }
            try await Task.sleep(for: .seconds(1))
            let flooded = try await medians(environment)
            // SIGKILL: the clients have nothing to clean up. Each client left its count of calls
            // as its last line.
            for client in clients { kill(client.processIdentifier, SIGKILL) }
            for client in clients { client.waitUntilExit() }
            let calls = (0..<floodClients).compactMap { index in
                ((try? String(contentsOfFile: counts + "/\(index)", encoding: .utf8)) ?? "").split(separator: "\n").last.flatMap { Int($0) }
            }.reduce(0, +)
            let seconds = (ContinuousClock.now - started).milliseconds / 1000
            var phases: [String: [Double]] = [:]
            for (phase, median) in quiet { phases[phase] = [median, flooded[phase] ?? 0, median > 0 ? (flooded[phase] ?? 0) / median : 0] }
            await environment.stop()
            return .init(
                writers: floodWriters, clients: floodClients, unprivileged: unprivileged, listWritersPerSecond: Double(calls) / seconds,
                phases: phases, worstRatio: phases.values.map { $0[2] }.max() ?? 0
            )
        } catch {
            for client in clients where client.isRunning { kill(client.processIdentifier, SIGKILL) }
            await environment.stop()
            throw error
        }
    }

    /// The median time of each phase over `sessions` sessions (after two warm-up sessions).
    private func medians(_ environment: BenchEnvironment) async throws -> [String: Double] {
        var samples: [String: [Double]] = [:]
        for iteration in 0..<(sessions + 2) {
            let timings = try await Self.session(environment, expecting: floodWriters)
            guard iteration >= 2 else { continue }
            for phase in Self.phases { samples[phase.methodName, default: []].append(Double(timings[phase.methodName] ?? 0) / 1000) }
        }
        return samples.mapValues { Statistics($0).median }
    }

    static func machine() -> String {
        let cpu = ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").split(separator: "\n")
            .first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let memory = ((try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? "").split(separator: "\n").first?
            .split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { "\($0 / 1024 / 1024) GiB" } ?? "?"
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores (\(cpu)), \(memory)"
    }

    private func log(_ line: String) {
        FileHandle.standardError.write(Data("quiesce-bench: \(line)\n".utf8))
    }
}
