import Foundation
import Quiesce
import QuiesceProtocol
import QuiesceBus

/// One integration test's world: a private bus, the real `quiesced` and writer processes on
/// it, and the commands a user runs (`quiescectl`, `busctl`). Everything is stopped at the end
/// of ``with(config:policy:services:_:)``.
public final class Harness: @unchecked Sendable {
    /// The private bus.
    public let bus: PrivateBus
    /// A connection of the test's own to the bus.
    public let connection: BusConnection
    private var processes: [String: ChildProcess] = [:]
    private let lock = NSLock()

    /// The folder holding the built executables (beside the test runner).
    public static let binDirectory: String = {
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: runner).deletingLastPathComponent().path
    }()

    private init(bus: PrivateBus, connection: BusConnection) {
        self.bus = bus
        self.connection = connection
    }

    /// Runs `body` in a new world and tears it down afterwards, whatever happens.
    public static func with<T: Sendable>(
        config: String = "private-bus.conf", policy: [String] = [], services: [String: String] = [:], _ body: (Harness) async throws -> T
    ) async throws -> T {
        let bus = try await PrivateBus.start(config: config, policy: policy, services: services)
        let harness = Harness(bus: bus, connection: try await BusConnection.connect(to: .address(bus.address)))
        let result: T
        do {
            result = try await body(harness)
        } catch {
            _ = await harness.stop()
            throw error
        }
        let bugs = await harness.stop()
        guard bugs.isEmpty else { throw TestFailure("a process broke the contract:\n" + bugs.joined(separator: "\n")) }
        return result
    }

    /// Writes an executable script. Through a close-on-exec descriptor: tests run in parallel in
    /// one process, and a child started meanwhile must not inherit it (exec of a file open for
    /// writing fails with "Text file busy").
    public static func writeExecutable(_ path: String, _ text: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard descriptor >= 0 else { throw TestFailure("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count else { throw TestFailure("cannot write \(path)") }
        fchmod(descriptor, 0o755)
    }

    /// A folder inside the test's temporary folder, created.
    public func folder(_ name: String) throws -> String {
        let path = bus.directory + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Starts one of our executables on the bus as `label`; waits for `busName` if given.
    @discardableResult
    public func start(
        _ label: String, _ program: String, _ arguments: [String], environment: [String: String] = [:], waitFor busName: String? = nil
    ) async throws -> ChildProcess {
        let process = try ChildProcess(
            executable: Self.binDirectory + "/" + program,
            arguments: ["--address", bus.address] + arguments,
            environment: environment,
            log: bus.directory + "/logs/\(label).log"
        )
        lock.withLock { processes[label] = process }
        if let busName { try await waitForName(busName, process: process) }
        return process
    }

    /// The state directory of the test's quiesced and `quiescectl restore`.
    public var stateDirectory: String { bus.directory + "/state" }

    /// The snapshot root of the test's quiesced.
    public var snapshotRoot: String { stateDirectory + "/snapshots" }

    /// Starts a Python script of the repository (`/usr/bin/python3`, with python3-dbus) on the
    /// bus as `label`; waits for `busName` if given.
    @discardableResult
    public func startPython(_ label: String, _ script: String, _ arguments: [String], waitFor busName: String? = nil) async throws -> ChildProcess {
        let process = try ChildProcess(
            executable: "/usr/bin/python3",
            arguments: [PrivateBus.repository + "/" + script, "--address", bus.address] + arguments,
            log: bus.directory + "/logs/\(label).log"
        )
        lock.withLock { processes[label] = process }
        if let busName { try await waitForName(busName, process: process) }
        return process
    }

    /// Starts `quiesced` with its state directory (and snapshot root) in the test folder.
    @discardableResult
    public func startCoordinator(_ arguments: [String] = []) async throws -> ChildProcess {
        try await start("quiesced", "quiesced", ["--state-dir", stateDirectory] + arguments, waitFor: BusNames.coordinator)
    }

    /// Starts a `flaky-writer` named `name` whose data lies in `volume`.
    @discardableResult
    public func startFlakyWriter(_ name: String, volume: String, _ arguments: [String] = []) async throws -> ChildProcess {
        let data = volume + "/" + name
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try "data of \(name)\n".write(toFile: data + "/file.txt", atomically: true, encoding: .utf8)
        return try await start(name, "flaky-writer", ["--name", name, "--data", data] + arguments, waitFor: BusNames.writerBusName(name))
    }

    /// Waits until `name` has an owner on the bus.
    public func waitForName(_ name: String, process: ChildProcess? = nil, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await connection.nameOwner(name) == nil {
            if let process, !process.isRunning { throw TestFailure("\(name) exited before it reached the bus: \(process.output)") }
            guard ContinuousClock.now < deadline else { throw TestFailure("\(name) did not appear on the bus") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits until `name` has no owner on the bus.
    public func waitForNameGone(_ name: String, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await connection.nameOwner(name) != nil {
            guard ContinuousClock.now < deadline else { throw TestFailure("\(name) is still on the bus") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Makes a process the test started itself (a database server) one of the harness's: it is
    /// stopped with the others, whatever happens to the test.
    public func adopt(_ process: ChildProcess, as label: String) {
        lock.withLock { processes[label] = process }
    }

    /// The process started as `label`.
    public func process(_ label: String) -> ChildProcess? {
        lock.withLock { processes[label] }
    }

    /// Runs a command to completion and returns its exit status and output.
    public func run(_ executable: String, _ arguments: [String]) async throws -> CommandResult {
        let process = Process()
        // Every signal unblocked and at its default, as from a shell (see ChildProcess).
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["--default-signal", "--", executable] + arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        return CommandResult(
            status: status,
            stdout: String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            stderr: String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        )
    }

    /// Runs a command as the unprivileged user nobody (uid 65534), through `setpriv`.
    public func runAsNobody(_ executable: String, _ arguments: [String]) async throws -> CommandResult {
        try await run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", executable] + arguments)
    }

    /// Whether the tests run as root (CI does; root-only tests are skipped elsewhere).
    public static let isRoot = getuid() == 0

    /// The process id's resident memory in KiB and number of open file descriptors.
    public static func footprint(of pid: Int32) -> (rssKiB: Int, fds: Int) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let rss = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        return (rss, fds)
    }

    /// Waits until `condition` holds, checking every 10 ms; returns how long it took, or throws.
    @discardableResult
    public static func waitUntil(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Duration {
        let start = ContinuousClock.now
        while !(try await condition()) {
            guard ContinuousClock.now - start < timeout else { throw TestFailure("timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
        return ContinuousClock.now - start
    }

    /// Runs `quiescectl --address=<the private bus> ARGUMENTS` (`restore` with the test's state
    /// directory).
    public func quiescectl(_ arguments: [String]) async throws -> CommandResult {
        guard let command = arguments.first else { throw TestFailure("quiescectl needs a command") }
        let state = command == "restore" && !arguments.contains("--state-dir") ? ["--state-dir", stateDirectory] : []
        // The bus option first, as an admin types it (`quiescectl --address=X writers`): it goes anywhere.
        return try await run(Self.binDirectory + "/quiescectl", ["--address=\(bus.address)", command] + state + arguments.dropFirst())
    }

    /// Runs `busctl` on the private bus.
    public func busctl(_ arguments: [String]) async throws -> CommandResult {
        try await run("/usr/bin/busctl", ["--address=\(bus.address)"] + arguments)
    }

    /// Reads a writer property the way an admin does: `busctl get-property`.
    public func writerProperty(_ writer: String, _ property: String) async throws -> String {
        let result = try await busctl(["get-property", BusNames.writerBusName(writer), BusNames.writerPath, Writer1.name, property])
        guard result.status == 0 else { throw TestFailure("busctl get-property failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops every process, then the bus. Returns the `quiesce: BUG:` lines the processes
    /// printed (an error a method returned that its XML does not list).
    @discardableResult
    public func stop() async -> [String] {
        let all = lock.withLock { Array(processes.values) }
        // All at once: a writer hung in a handler takes its grace period to stop.
        await withTaskGroup(of: Void.self) { group in
            for process in all { group.addTask { await process.terminate(grace: .seconds(2)) } }
        }
        let bugs = all.flatMap { $0.output.split(separator: "\n").filter { $0.hasPrefix("quiesce: BUG:") }.map(String.init) }
        await connection.close()
        await bus.stop()
        return bugs
    }
}

/// What a command printed and how it ended.
public struct CommandResult: Sendable {
    /// The exit status.
    public var status: Int32
    /// Standard output.
    public var stdout: String
    /// Standard error.
    public var stderr: String
}
