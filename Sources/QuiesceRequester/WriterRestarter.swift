import Quiesce
import QuiesceProtocol
import QuiesceBus
import Subprocess
import SystemPackage

/// Restarts the service behind a writer: a command configured for the writer, or else the
/// writer's systemd unit, found from its process id through `org.freedesktop.systemd1`.
public struct WriterRestarter: Sendable {
    /// Commands by writer name (`argv`, run without a shell).
    public var commands: [String: [String]]
    private let connection: BusConnection

    /// Creates a restarter; `connection` is the bus the writers are on.
    public init(connection: BusConnection, commands: [String: [String]] = [:]) {
        self.connection = connection
        self.commands = commands
    }

    /// Restarts the writer's service; returns what was done.
    public func restart(writer: String) async throws -> String {
        if let command = commands[writer], let executable = command.first {
            let result = try await run(
                .path(FilePath(executable)), arguments: Arguments(Array(command.dropFirst())),
                output: .discarded, error: .string(limit: 4096)
            )
            guard result.terminationStatus.isSuccess else {
                let detail = result.standardError.split(whereSeparator: \.isNewline).last.map { ": \($0)" } ?? ""
                throw QuiesceError(.failed, "\(command.joined(separator: " ")) ended with \(result.terminationStatus)\(detail)")
            }
            return "ran \(command.joined(separator: " "))"
        }
        return try await restartUnit(of: writer)
    }

    private func restartUnit(of writer: String) async throws -> String {
        let pid = try await connection.unixProcessID(of: BusNames.writerBusName(writer))
        let system: BusConnection
        do {
            system = try await BusConnection.connect(to: .system)
        } catch {
            throw QuiesceError(.failed, "writer \(writer) has no --restart-command and the system bus (systemd) cannot be reached: \(error)")
        }
        defer { Task { await system.close() } }
        let manager = (destination: "org.freedesktop.systemd1", path: "/org/freedesktop/systemd1", interface: "org.freedesktop.systemd1.Manager")
        guard let unitPath = try await system.call(
            destination: manager.destination, path: manager.path, interface: manager.interface, method: "GetUnitByPID", arguments: [.uint32(pid)]
        ).first?.stringValue else { throw QuiesceError(.failed, "systemd knows no unit for pid \(pid)") }
        let id = try await system.call(
            destination: manager.destination, path: unitPath, interface: "org.freedesktop.DBus.Properties", method: "Get",
            arguments: [.string("org.freedesktop.systemd1.Unit"), .string("Id")]
        ).first?.stringValue ?? ""
        guard id.hasSuffix(".service") else { throw QuiesceError(.failed, "writer \(writer) (pid \(pid)) runs in \(id), not a service") }
        _ = try await system.call(
            destination: manager.destination, path: manager.path, interface: manager.interface, method: "RestartUnit",
            arguments: [.string(id), .string("replace")], timeout: .seconds(90)
        )
        return "restarted \(id)"
    }
}
