import Foundation

/// A dbus-daemon of the test's own, started from `dbus/private-bus.conf` (or another config
/// in `dbus/`) in a fresh temporary folder. Tests never touch the system or session bus.
public final class PrivateBus: Sendable {
    /// The folder holding the bus socket and every log of the test.
    public let directory: String
    /// The bus address, for `--address`.
    public let address: String
    private let daemon: ChildProcess

    /// The repository's root, found from this file's path.
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../..").standardizedFileURL.path

    private init(directory: String, address: String, daemon: ChildProcess) {
        self.directory = directory
        self.address = address
        self.daemon = daemon
    }

    /// Starts a dbus-daemon with `dbus/<config>` and waits for its socket; `policy` files (whole
    /// `<busconfig>` documents, as an admin drops them into /etc/dbus-1/system.d) are included
    /// after the configuration's own. `services` are D-Bus activation files, by bus name (the
    /// `Exec=` line of each), in a service directory of the bus's own.
    public static func start(config: String = "private-bus.conf", policy: [String] = [], services: [String: String] = [:]) async throws -> PrivateBus {
        var template = Array("/tmp/quiesce-test-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        let directory = String(cString: created)
        // Readable by every user: the security tests connect as an unprivileged one too.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        try FileManager.default.createDirectory(atPath: directory + "/logs", withIntermediateDirectories: true)
        let address = "unix:path=\(directory)/bus"
        var configFile = "\(repository)/dbus/\(config)"
        if !policy.isEmpty || !services.isEmpty {
            var text = try String(contentsOfFile: configFile, encoding: .utf8)
                .replacingOccurrences(of: "<include>org.quiesce.conf</include>", with: "<include>\(repository)/dbus/org.quiesce.conf</include>")
            for (index, document) in policy.enumerated() {
                let file = directory + "/policy-\(index).conf"
                try document.write(toFile: file, atomically: true, encoding: .utf8)
                text = text.replacingOccurrences(of: "</busconfig>", with: "  <include>\(file)</include>\n</busconfig>")
            }
            if !services.isEmpty {
                let serviceDirectory = directory + "/services"
                try FileManager.default.createDirectory(atPath: serviceDirectory, withIntermediateDirectories: true)
                for (name, exec) in services {
                    try "[D-BUS Service]\nName=\(name)\nExec=\(exec)\n".write(toFile: "\(serviceDirectory)/\(name).service", atomically: true, encoding: .utf8)
                }
                text = text.replacingOccurrences(of: "</busconfig>", with: "  <servicedir>\(serviceDirectory)</servicedir>\n</busconfig>")
            }
            configFile = directory + "/bus.conf"
            try text.write(toFile: configFile, atomically: true, encoding: .utf8)
        }
        let daemon = try ChildProcess(
            executable: "/usr/bin/dbus-daemon",
            arguments: ["--config-file=\(configFile)", "--address=\(address)", "--nofork", "--nopidfile", "--print-address=1"],
            log: directory + "/logs/dbus-daemon.log"
        )
        let deadline = ContinuousClock.now + .seconds(10)
        // dbus-daemon prints its address once it listens.
        while !daemon.output.contains(address) {
            guard ContinuousClock.now < deadline, daemon.isRunning else { throw TestFailure("dbus-daemon did not start: \(daemon.output)") }
            try await Task.sleep(for: .milliseconds(10))
        }
        return PrivateBus(directory: directory, address: address, daemon: daemon)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Stops the daemon (every connection on it is closed). It has nothing to save, and it
    /// takes seconds to act on SIGTERM, so it gets SIGKILL.
    public func stop() async {
        daemon.signal(SIGKILL)
        await daemon.waitForExit()
    }
}

/// A failure of the test harness itself.
public struct TestFailure: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
    /// Creates a failure.
    public init(_ description: String) { self.description = description }
}
