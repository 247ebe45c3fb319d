import Subprocess
import SystemPackage

/// A systemd unit a writer stops before a restore over its application's files and starts
/// after (restore method stop-restore-start), through `systemctl`.
public struct SystemdUnit: Sendable {
    /// The unit's name (`postgresql@15-main`, `mariadb`).
    public let name: String

    /// Names a unit.
    public init(_ name: String) {
        self.name = name
    }

    /// `systemctl stop`; waits until the unit has stopped.
    public func stop() async throws {
        try await systemctl("stop")
    }

    /// `systemctl start`.
    public func start() async throws {
        try await systemctl("start")
    }

    private func systemctl(_ verb: String) async throws {
        let result = try await Subprocess.run(.path(FilePath("/usr/bin/systemctl")), arguments: [verb, name], output: .discarded, error: .string(limit: 4096))
        guard result.terminationStatus.isSuccess else { throw Failure(description: "systemctl \(verb) \(name) failed: \(result.standardError)") }
    }

    /// `systemctl` refused or failed.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }
}
