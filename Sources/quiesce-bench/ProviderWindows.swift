import Foundation
import Quiesce
import QuiesceProtocol
import QuiesceBus
import QuiesceRequester

/// The freeze window (first Freeze sent to last Thaw answered) against the amount of data, for
/// the `btrfs`, `freeze` and `copy` providers, on loop filesystems the benchmark makes (root only).
/// The `freeze` provider runs with a FAKE device-snapshot command that snapshots nothing (this
/// machine has no device-mapper): it measures the freeze itself, which is what holds writers.
struct ProviderWindows {
    let sizes: [Int]
    let sessions: Int
    let log: (String) -> Void

    /// One provider at one size.
    struct Row: Codable, Sendable {
        var provider: String
        var filesystem: String
        var megabytes: Int
        var window: Statistics?
        var failure: String?
    }

    func measure() async throws -> [Row] {
        guard getuid() == 0 else {
            log("provider windows: skipped (making loop filesystems needs root)")
            return []
        }
        var rows: [Row] = []
        for size in sizes {
            for filesystem in ["btrfs", "ext4"] {
                let place = NSTemporaryDirectory() + "quiesce-bench-disk-\(UUID().uuidString.prefix(8))"
                let mount = place + "/mnt"
                try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
                defer {
                    (try? BenchEnvironment.spawn("/usr/bin/umount", ["-l", mount]))?.waitUntilExit()
                    try? FileManager.default.removeItem(atPath: place)
                }
                log("provider windows: \(size) MiB on \(filesystem): making the filesystem and its data")
                try run("/usr/bin/truncate", ["-s", "\(size + 768)M", place + "/disk.img"])
                try run("/usr/sbin/mkfs.\(filesystem)", filesystem == "btrfs" ? ["-q", place + "/disk.img"] : ["-q", "-F", place + "/disk.img"])
                try run("/usr/bin/mount", ["-o", "loop", place + "/disk.img", mount])
                try FileManager.default.createDirectory(atPath: mount + "/volume", withIntermediateDirectories: true)
                try run("/usr/bin/dd", ["if=/dev/urandom", "of=\(mount)/volume/data.bin", "bs=1M", "count=\(size)", "status=none"])
                try run("/usr/bin/sync", [])
                for provider in filesystem == "btrfs" ? ["btrfs"] : ["freeze", "copy"] {
                    rows.append(try await window(provider, filesystem: filesystem, size: size, volume: mount + "/volume", place: place))
                }
            }
        }
        return rows
    }

    private func window(_ provider: String, filesystem: String, size: Int, volume: String, place: String) async throws -> Row {
        log("provider windows: \(provider), \(size) MiB")
        let fake = place + "/fake-device-snapshot"
        // Snapshots nothing: answers each mount point with itself.
        try """
            #!/usr/bin/python3
            import json, sys
            request = json.loads(sys.stdin.readline())
            if sys.argv[-2] == "create":
                print(json.dumps({"snapshots": {v["mount-point"]: v["mount-point"] for v in request["volumes"]}}))
            """.write(toFile: fake, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake)
        let environment = try await BenchEnvironment.start(
            coordinatorArguments: ["--freeze-command", fake, "--write-hold-limit", "300", "--copy-size-limit", "100000"], volume: volume
        )
        defer { Task { await environment.stop() } }
        _ = try await environment.startWriters(1, freezeDelay: .zero)
        var windows: [Double] = []
        do {
            for _ in 0..<sessions {
                let session = try await QuiesceClient(connection: environment.connection).createSession()
                _ = try await session.gatherWriterMetadata()
                try await session.addVolumes([volume])
                try await session.prepareForBackup()
                _ = try await session.doSnapshotSet(provider: provider)
                let timings = try await environment.connection.call(
                    destination: BusNames.coordinator, path: session.path, interface: "org.freedesktop.DBus.Properties", method: "Get",
                    arguments: [.string(Session1.name), .string("Timings")]
                ).first?.stringKeyedDictionary ?? [:]
                try await session.backupComplete(succeeded: true)
                try await session.close()
                if let window = timings["freeze-window"]?.uint64Value { windows.append(Double(window) / 1000) }
            }
        } catch {
            await environment.stop()
            return Row(provider: provider, filesystem: filesystem, megabytes: size, window: nil, failure: "\(error)")
        }
        await environment.stop()
        return Row(provider: provider, filesystem: filesystem, megabytes: size, window: Statistics(windows), failure: nil)
    }

    private func run(_ executable: String, _ arguments: [String]) throws {
        let process = try BenchEnvironment.spawn(executable, arguments)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchFailure("\(executable) \(arguments.joined(separator: " ")) failed") }
    }
}
