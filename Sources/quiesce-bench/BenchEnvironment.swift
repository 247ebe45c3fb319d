import ArgumentParser
import Foundation
import Quiesce
import QuiesceBus
import QuiesceServiceBus

/// A private dbus-daemon (limited, like the system bus, to 128 pending replies per connection),
/// quiesced and writer processes, all in one temporary folder, stopped by ``stop()``.
final class BenchEnvironment: @unchecked Sendable {
    let directory: String
    let address: String
    /// Where the writers' data goes (a folder of the environment, or a volume given to ``start``).
    let volume: String
    let connection: BusConnection
    /// The connection the Ping floor is measured on: libdbus-1, as quiesced calls writers, so
    /// that the floor is what the bus allows and not GDBus's own cost.
    let pinger: ServingConnection
    private(set) var coordinator: Process
    private(set) var writers: [Process] = []
    /// The dbus-daemon.
    let daemon: Process

    /// The folder holding quiesced (beside this executable).
    static let binDirectory = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        .deletingLastPathComponent().path

    static let busConfig = """
        <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
        <busconfig>
          <type>session</type>
          <listen>unix:tmpdir=/tmp</listen>
          <auth>EXTERNAL</auth>
          <policy context="default">
            <allow user="*"/><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/>
          </policy>
          <limit name="max_replies_per_connection">128</limit>
          <limit name="max_connections_per_user">4096</limit>
          <limit name="max_completed_connections">4096</limit>
        </busconfig>
        """

    static func start(coordinatorArguments: [String] = [], volume: String? = nil) async throws -> BenchEnvironment {
        let directory = NSTemporaryDirectory() + "quiesce-bench-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory + "/volume", withIntermediateDirectories: true)
        try busConfig.write(toFile: directory + "/bus.conf", atomically: true, encoding: .utf8)
        let address = "unix:path=\(directory)/bus"
        let daemon = try spawn("/usr/bin/dbus-daemon", ["--config-file=\(directory)/bus.conf", "--address=\(address)", "--nofork", "--nopidfile"])
        // The socket appears at bind(); connections are refused until dbus-daemon listens.
        let deadline = ContinuousClock.now + .seconds(10)
        var connection: BusConnection?
        while connection == nil {
            do {
                connection = try await BusConnection.connect(to: .address(address))
            } catch {
                guard ContinuousClock.now < deadline, daemon.isRunning else {
                    kill(daemon.processIdentifier, SIGKILL)
                    throw error
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        guard let connection else { throw BenchFailure("dbus-daemon did not start") }
        let coordinator = try spawn(
            binDirectory + "/quiesced", ["--address", address, "--state-dir", directory + "/state", "--log-level", "warning"] + coordinatorArguments,
            log: directory + "/quiesced.log"
        )
        let pinger: ServingConnection
        do {
            pinger = try await ServingConnection.connect(to: .address(address))
        } catch {
            kill(coordinator.processIdentifier, SIGKILL)
            kill(daemon.processIdentifier, SIGKILL)
            throw error
        }
        let environment = BenchEnvironment(
            directory: directory, address: address, volume: volume ?? directory + "/volume", connection: connection, pinger: pinger, daemon: daemon,
            coordinator: coordinator
        )
        do {
            try await environment.waitForName(BusNames.coordinator)
        } catch {
            let log = (try? String(contentsOfFile: directory + "/quiesced.log", encoding: .utf8)) ?? ""
            await environment.stop()
            throw BenchFailure("quiesced did not start: \(log)")
        }
        return environment
    }

    private init(directory: String, address: String, volume: String, connection: BusConnection, pinger: ServingConnection, daemon: Process, coordinator: Process) {
        self.directory = directory
        self.address = address
        self.volume = volume
        self.connection = connection
        self.pinger = pinger
        self.daemon = daemon
        self.coordinator = coordinator
    }

    /// Starts a program with every signal unblocked and at its default, as from a shell: the
    /// benchmark's threads block most signals, and a child would inherit that mask (a
    /// dbus-daemon deaf to SIGTERM, a writer that never sees SIGCHLD).
    static func spawn(_ executable: String, _ arguments: [String], environment: [String: String] = [:], log: String? = nil, output: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["--default-signal", "--", executable] + arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = FileHandle.nullDevice
        if let output, FileManager.default.createFile(atPath: output, contents: nil), let handle = FileHandle(forWritingAtPath: output) {
            process.standardOutput = handle
        }
        process.standardError = FileHandle.nullDevice
        if let log, FileManager.default.createFile(atPath: log, contents: nil), let handle = FileHandle(forWritingAtPath: log) {
            process.standardError = handle
        }
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    func waitForName(_ name: String) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while try await connection.nameOwner(name) == nil {
            guard ContinuousClock.now < deadline else { throw BenchFailure("\(name) did not appear on the bus") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Starts `count` writers one after another; returns each one's start time (exec → name on the
    /// bus). The writers are `flaky-writer` processes that misbehave in no way (a Freeze that
    /// takes `freezeDelay` at most), logging only warnings.
    func startWriters(_ count: Int, freezeDelay: Duration, kind: WriterKind = .swift) async throws -> [Duration] {
        var startTimes: [Duration] = []
        for _ in 0..<count {
            let name = "bench\(writers.count)"
            let data = volume + "/" + name
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            let started = ContinuousClock.now
            switch kind {
            case .swift, .swiftEager:
                let slowFreeze = freezeDelay > .zero ? ["--at", "Freeze", "--mode", "slow", "--delay-ms", "\(Int(freezeDelay.milliseconds))"] : []
                writers.append(try Self.spawn(
                    Self.binDirectory + "/flaky-writer",
                    ["--address", address, "--name", name, "--data", data, "--log-level", "warning"] + slowFreeze,
                    environment: kind.propertySettleEnvironment
                ))
            case .c, .cEager:
                // No journal workload: like flaky-writer, it only answers events.
                writers.append(try Self.spawn(
                    Self.binDirectory + "/quiesce-c-writer",
                    ["--address", address, "--name", name, "--data", data, "--journal-interval-ms", "0", "--freeze-delay-ms", "\(Int(freezeDelay.milliseconds))"],
                    environment: kind.propertySettleEnvironment
                ))
            case .hook:
                // One hook that sleeps through freeze: what an fsfreeze-hook.d script does.
                let hooks = directory + "/hooks-\(name)"
                try FileManager.default.createDirectory(atPath: hooks, withIntermediateDirectories: true)
                try "#!/bin/sh\n[ \"$1\" = freeze ] && sleep \(freezeDelay.milliseconds / 1000)\nexit 0\n".write(toFile: hooks + "/10-app", atomically: true, encoding: .utf8)
                chmod(hooks + "/10-app", 0o755)
                let config = """
                    {"name": "\(name)", "hooks": "\(hooks)", "components": [{"name": "data", "files": [{"path": "\(data)", "recursive": true}]}]}
                    """
                try config.write(toFile: hooks + ".json", atomically: true, encoding: .utf8)
                writers.append(try Self.spawn(
                    Self.binDirectory + "/quiesce-hook-writer", ["--address", address, "--config", hooks + ".json", "--log-level", "warning"]
                ))
            }
            try await waitForName(BusNames.writerBusName(name))
            startTimes.append(ContinuousClock.now - started)
        }
        return startTimes
    }

    /// A process's memory in KiB: resident (RSS), proportional (PSS: shared pages divided among
    /// the processes sharing them) and private (what the process alone costs).
    static func memory(_ process: Process) -> BenchReport.Memory {
        let rollup = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/smaps_rollup", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            rollup.split(separator: "\n").first { $0.hasPrefix(name + ":") }.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        }
        return .init(rssKiB: field("Rss"), pssKiB: field("Pss"), privateKiB: field("Private_Clean") + field("Private_Dirty"))
    }

    func stop() async {
        for process in writers + [coordinator] where process.isRunning { process.terminate() }
        for process in writers + [coordinator] {
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        await connection.close()
        await pinger.close()
        kill(daemon.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Which writer the benchmark starts: the Swift SDK's flaky-writer, the C writer on
/// libdbus-1, or quiesce-hook-writer with one shell hook.
enum WriterKind: String, Codable, Sendable, CaseIterable, ExpressibleByArgument {
    case swift, c, hook
    /// The SDK's writer announcing its properties after every event (`QUIESCE_PROPERTY_SETTLE_MS=0`),
    /// as it did before it let them settle: the benchmark's switch for that change.
    case swiftEager = "swift-settle-0"
    /// The C writer announcing its properties after every event: its switch for the same change.
    case cEager = "c-settle-0"

    /// The environment that makes a writer of this kind announce after every event, if it is one of the eager kinds.
    var propertySettleEnvironment: [String: String] {
        self == .swiftEager || self == .cEager ? ["QUIESCE_PROPERTY_SETTLE_MS": "0"] : [:]
    }
}

/// Something in the benchmark went wrong.
struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
