#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Quiesce
import QuiesceProtocol
import QuiesceFiles
import Subprocess
import SystemPackage

/// An administrator's snapshot command (for the `freeze` and `command` providers), always run
/// through the `quiesce-freeze` helper: the helper freezes the given filesystems around it (or
/// only supervises it), gives it its lease, and kills it and thaws when quiesced goes away.
///
/// The contract, documented in docs/providers.md: `COMMAND create SET-ID` or
/// `COMMAND delete SET-ID`, with a JSON request on standard input:
/// `{"action": "create", "set-id": "...", "volumes": [{"path", "mount-point", "filesystem", "source", "device"}]}`.
/// `create` prints `{"snapshots": {"<mount point>": "<directory where that filesystem's snapshot is read>"}}`;
/// `delete` removes what `create` made for the set (found by its id) and prints nothing.
public struct SnapshotCommand: Sendable, Hashable {
    /// The command: an absolute path, and arguments put before `create`/`delete`.
    public var arguments: [String]

    /// Creates a command; `arguments[0]` must be the absolute path of an executable that only
    /// quiesced's user (or root) can change.
    public init(_ arguments: [String]) throws(QuiesceError) {
        guard let executable = arguments.first, executable.hasPrefix("/") else {
            throw QuiesceError(.invalidArgument, "a snapshot command must start with the absolute path of an executable")
        }
        var raw = stat()
        guard stat(executable, &raw) == 0, raw.st_mode & S_IFMT == S_IFREG, raw.st_mode & 0o111 != 0 else {
            throw QuiesceError(.invalidArgument, "the snapshot command \(executable) is not an executable file")
        }
        guard raw.st_uid == 0 || raw.st_uid == geteuid(), raw.st_mode & 0o022 == 0 else {
            throw QuiesceError(.invalidArgument, "the snapshot command \(executable) may be changed by others (owner uid \(raw.st_uid), mode \(String(raw.st_mode & 0o777, radix: 8))): quiesced would run it as root")
        }
        self.arguments = arguments
    }

    /// What the command gets on standard input.
    struct Request: Codable {
        struct Volume: Codable {
            var path: String
            var mountPoint: String
            var filesystem: String
            var source: String
            var device: String
        }

        var action: String
        var setId: String
        var volumes: [Volume]

        init(action: String, setId: String, volumes: [VolumeInfo]) {
            self.action = action
            self.setId = setId
            self.volumes = volumes.map { Volume(path: $0.path, mountPoint: $0.mountPoint, filesystem: $0.filesystem, source: $0.source, device: $0.device) }
        }
    }

    /// What `create` prints.
    struct Created: Codable {
        var snapshots: [String: String]
    }

    /// Runs `create`, freezing `freezing` (mount points) around it, within `lease`; returns, by
    /// mount point, where each filesystem's snapshot is read.
    func create(setId: String, volumes: [VolumeInfo], freezing: [String], lease: Duration, helper: String) async throws -> [String: String] {
        let output = try await run(Request(action: "create", setId: setId, volumes: volumes), freezing: freezing, lease: lease, helper: helper)
        let created: Created
        do {
            created = try JSONCoding.decode(Created.self, from: output)
        } catch {
            throw FileError("use the output of", arguments[0], reason: "it is not {\"snapshots\": {mount point: directory}}: \(output.prefix(200).debugDescription)")
        }
        return created.snapshots
    }

    /// Runs `delete` (no freeze) within `timeout`.
    func delete(setId: String, volumes: [VolumeInfo], timeout: Duration, helper: String) async throws {
        _ = try await run(Request(action: "delete", setId: setId, volumes: volumes), freezing: [], lease: timeout, helper: helper)
    }

    private func run(_ request: Request, freezing: [String], lease: Duration, helper: String) async throws -> String {
        let line = try JSONCoding.encode(request) + "\n"
        var options = PlatformOptions()
        // A process group of its own; and on cancellation SIGTERM first, which the helper
        // answers by killing the command and thawing, before anything harsher.
        options.processGroupID = 0
        options.teardownSequence = [.send(signal: .terminate, allowedDurationToNextStep: .seconds(2))]
        let helperArguments = freezing.flatMap { ["--freeze", $0] } + ["--lease-ms", "\(max(1, lease.wholeMilliseconds))", "--"]
            + arguments + [request.action, request.setId]
        let result = try await Subprocess.run(
            .path(FilePath(helper)), arguments: Arguments(helperArguments), platformOptions: options,
            input: .inputWriter, output: .sequence, error: .string(limit: 64 << 10)
        ) { execution in
            _ = try await execution.standardInputWriter.write(line)
            // Standard input stays open until the output is read: its end tells the helper that
            // quiesced is gone.
            var bytes: [UInt8] = []
            for try await chunk in execution.standardOutput {
                chunk.withUnsafeBytes { bytes += $0 }
                guard bytes.count <= 1 << 20 else { break }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        guard result.terminationStatus.isSuccess else {
            let messages = result.standardError.split(whereSeparator: \.isNewline).map(String.init)
            let reason = messages.last { !$0.hasPrefix("quiesce-freeze: froze") && !$0.hasPrefix("quiesce-freeze: thawed") } ?? "\(result.terminationStatus)"
            throw FileError("run", arguments[0] + " " + request.action, reason: reason)
        }
        return result.closureResult
    }
}

extension SnapshotCommand {
    /// Where quiesced finds `quiesce-freeze`: beside its own executable.
    public static var defaultHelper: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return String(executable[..<(executable.lastIndex(of: "/") ?? executable.endIndex)]) + "/quiesce-freeze"
    }
}
