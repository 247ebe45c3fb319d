import Foundation

/// A filesystem image of `type` (btrfs, xfs, ext4) made by the test and mounted on a loop
/// device; `unmount()` undoes it. Needs root.
public struct LoopFilesystem: Sendable {
    /// Where it is mounted.
    public let mountPoint: String
    /// The filesystem type.
    public let type: String
    private let harness: Harness

    /// Makes a sparse image of `size` (`truncate` syntax) in `directory` and mounts it.
    public static func make(_ type: String, size: String = "512M", in directory: String, harness: Harness) async throws -> LoopFilesystem {
        let image = directory + "/\(type).img"
        let mountPoint = directory + "/\(type)"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let format: [String] = switch type {
        case "btrfs": ["-q", image]
        case "xfs": ["-q", "-f", image]
        default: ["-q", "-F", image]
        }
        for (program, arguments) in [
            ("/usr/bin/truncate", ["-s", size, image]),
            ("/usr/sbin/mkfs.\(type)", format),
            ("/usr/bin/mount", ["-o", "loop", image, mountPoint]),
        ] {
            let result = try await harness.run(program, arguments)
            guard result.status == 0 else { throw TestFailure("\(program) failed: \(result.stderr)") }
        }
        return LoopFilesystem(mountPoint: mountPoint, type: type, harness: harness)
    }

    /// Used space in KiB, after writing everything out.
    public func usedKiB() async throws -> Int {
        _ = try await harness.run("/usr/bin/sync", ["-f", mountPoint])
        let result = try await harness.run("/usr/bin/df", ["--output=used", "-k", mountPoint])
        return Int(result.stdout.split(separator: "\n").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? -1
    }

    /// Writes `megabytes` MiB of data that neither compresses nor deduplicates to `path`.
    public func fill(_ path: String, megabytes: Int) async throws {
        let result = try await harness.run("/usr/bin/dd", ["if=/dev/urandom", "of=\(path)", "bs=1M", "count=\(megabytes)", "status=none"])
        guard result.status == 0 else { throw TestFailure("dd failed: \(result.stderr)") }
    }

    /// Unmounts it (lazily, so that a process still holding a file cannot keep it mounted).
    public func unmount() async {
        _ = try? await harness.run("/usr/bin/umount", ["-l", mountPoint])
    }

    /// Runs `body` with filesystems of the given types, unmounted afterwards whatever happens.
    public static func with<T: Sendable>(
        _ types: [String], size: String = "512M", harness: Harness, _ body: ([LoopFilesystem]) async throws -> T
    ) async throws -> T {
        var made: [LoopFilesystem] = []
        do {
            for type in types { made.append(try await make(type, size: size, in: harness.bus.directory, harness: harness)) }
            let result = try await body(made)
            for disk in made { await disk.unmount() }
            return result
        } catch {
            for disk in made { await disk.unmount() }
            throw error
        }
    }
}
