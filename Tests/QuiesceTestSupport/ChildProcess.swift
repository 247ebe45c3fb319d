import Foundation

/// A real process started by a test, its standard output and error going to a log file.
public final class ChildProcess: @unchecked Sendable {
    private let process = Process()
    /// The log file.
    public let log: String

    /// Starts `executable` with `arguments`, and `environment` added to the test's. The program
    /// starts with every signal unblocked and at its default, as from a shell or systemd: the
    /// test's threads block most signals, and a child that inherited that mask (dbus-daemon's
    /// activation, which waits for SIGCHLD) would never see its own children exit.
    public init(executable: String, arguments: [String], environment: [String: String] = [:], log: String) throws {
        self.log = log
        guard FileManager.default.createFile(atPath: log, contents: nil) else { throw TestFailure("cannot create \(log)") }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["--default-signal", "--", executable] + arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try handle.close()
    }

    /// The process id.
    public var pid: Int32 { process.processIdentifier }

    /// Whether the process still runs.
    public var isRunning: Bool { process.isRunning }

    /// What the process has printed so far.
    public var output: String {
        (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    }

    /// Sends `signal` to the process.
    public func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits up to `timeout` for the process to end; returns its exit status, or nil.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(10)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// SIGTERM, then SIGKILL if it has not ended within `grace`.
    public func terminate(grace: Duration = .seconds(5)) async {
        guard process.isRunning else { return }
        signal(SIGTERM)
        if await waitForExit(timeout: grace) == nil {
            signal(SIGKILL)
            await waitForExit(timeout: .seconds(5))
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
