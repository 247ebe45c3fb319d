import Foundation
import Quiesce
import QuiesceRequester
import QuiesceTestSupport
import Testing

private let rootOnly = ConditionTrait.enabled(
    if: Harness.isRoot,
    "SKIP: needs root to mount btrfs and ext4 images on loop devices (CI runs as root)"
)

/// A filesystem image of `type` mounted on a loop device in `directory`, unmounted by `unmount()`.
private struct LoopFilesystem {
    let mountPoint: String
    let harness: Harness

    static func make(_ type: String, in directory: String, harness: Harness) async throws -> LoopFilesystem {
        let image = directory + "/\(type).img"
        let mountPoint = directory + "/\(type)"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        for (program, arguments) in [
            ("/usr/bin/truncate", ["-s", "300M", image]),
            ("/usr/sbin/mkfs.\(type)", type == "btrfs" ? ["-q", image] : ["-q", "-F", image]),
            ("/usr/bin/mount", ["-o", "loop", image, mountPoint]),
        ] {
            let result = try await harness.run(program, arguments)
            guard result.status == 0 else { throw TestFailure("\(program) failed: \(result.stderr)") }
        }
        return LoopFilesystem(mountPoint: mountPoint, harness: harness)
    }

    /// Used space in KiB, after writing everything out.
    func usedKiB() async throws -> Int {
        _ = try await harness.run("/usr/bin/sync", ["-f", mountPoint])
        let result = try await harness.run("/usr/bin/df", ["--output=used", "-k", mountPoint])
        return Int(result.stdout.split(separator: "\n").last?.trimmingCharacters(in: .whitespaces) ?? "") ?? -1
    }

    func unmount() async {
        _ = try? await harness.run("/usr/bin/umount", [mountPoint])
    }
}

@Suite("The copy provider on real filesystems", .serialized)
struct CopyProviderTests {
    @Test("On btrfs the snapshot is a reflink (no extra space); on ext4 it is a byte copy; both are faithful", rootOnly, arguments: ["btrfs", "ext4"])
    func copyProvider(filesystem type: String) async throws {
        try await Harness.with { harness in
            let disk = try await LoopFilesystem.make(type, in: harness.bus.directory, harness: harness)
            do {
                try await Self.backUp(on: disk, type: type, harness: harness)
            } catch {
                await disk.unmount()
                throw error
            }
            await disk.unmount()
        }
    }

    private static func backUp(on disk: LoopFilesystem, type: String, harness: Harness) async throws {
        let volume = disk.mountPoint + "/volume"
        try await harness.start("quiesced", "quiesced", ["--state-dir", harness.stateDirectory, "--snapshot-root", disk.mountPoint + "/snapshots"], waitFor: BusNames.coordinator)
        try await harness.startFlakyWriter("w", volume: volume)
        // 64 MiB of data that does not compress or deduplicate.
        let big = volume + "/w/big.bin"
        #expect(try await harness.run("/usr/bin/dd", ["if=/dev/urandom", "of=\(big)", "bs=1M", "count=64", "status=none"]).status == 0)

        let session = try await QuiesceClient(connection: harness.connection).createSession()
        _ = try await session.gatherWriterMetadata()
        try await session.addVolumes([volume])
        try await session.prepareForBackup()
        let before = try await disk.usedKiB()
        let set = try await session.doSnapshotSet()
        let grown = try await disk.usedKiB() - before
        let copy = try #require(set.snapshots[volume]) + "/w/big.bin"
        #expect(try await harness.run("/usr/bin/cmp", [big, copy]).status == 0)
        if type == "btrfs" {
            #expect(grown < 8 * 1024, "the btrfs snapshot used \(grown) KiB: not a reflink")
        } else {
            #expect(grown >= 60 * 1024, "the ext4 snapshot used only \(grown) KiB")
        }
        try await session.backupComplete(succeeded: true)
        try await session.close()
        #expect(!FileManager.default.fileExists(atPath: copy))
        // quiesced and the writer keep files open on the disk: stop them before it is unmounted.
        for label in ["w", "quiesced"] { await harness.process(label)?.terminate() }
    }
}
