import Foundation
import Quiesce
import QuiesceProtocol
import QuiesceBus
import QuiesceRequester
import QuiesceTestSupport
import Testing

private let rootOnly = ConditionTrait.enabled(
    if: Harness.isRoot,
    "SKIP: needs root to mount btrfs, XFS and ext4 images on loop devices (CI runs as root)"
)

/// Backs up the notes database under its workload in `notes` and a flaky writer's files in
/// `files` with quiescectl; checks that the copied database is intact and holds notes; returns
/// what quiescectl said and the document.
func backUpNotesUnderLoad(_ harness: Harness, notes: String, files: String) async throws -> (CommandResult, BackupDocument) {
    try await harness.start("notes", "notes-writer", ["--database", notes + "/notes.db", "--workload", "--interval-ms", "2"], waitFor: BusNames.writerBusName("notes"))
    try await harness.startFlakyWriter("files", volume: files)
    try await Task.sleep(for: .milliseconds(300))
    let destination = harness.bus.directory + "/backup"
    let backup = try await harness.quiescectl(["backup", "--volume", notes, "--volume", files, "--to", destination, "--json"])
    #expect(backup.status == 0, "\(backup.stderr)")
    let document = try JSONLines.backupDocument(backup.stdout)
    let copy = destination + "/" + (document.snapshotSet?.volumes.first { $0.volume == notes }?.dataPath ?? "") + "/notes.db"
    #expect(try await sqlite(harness, copy, "PRAGMA integrity_check;") == "ok")
    #expect(Int(try await sqlite(harness, copy, "SELECT count(*) FROM notes;")) ?? 0 > 0)
    return (backup, document)
}

/// A session up to a snapshot set of `volumes`, through the library.
func snapshotSet(_ harness: Harness, _ volumes: [String], provider: String? = nil) async throws -> (RequesterSession, SnapshotSetResult) {
    let session = try await QuiesceClient(connection: harness.connection).createSession()
    _ = try await session.gatherWriterMetadata()
    try await session.addVolumes(volumes)
    try await session.prepareForBackup()
    return (session, try await session.doSnapshotSet(provider: provider))
}

@Suite("Snapshot providers on real filesystems", .serialized)
struct ProviderTests {
    @Test(
        "Each filesystem gets its provider: btrfs a read-only snapshot, XFS a reflink copy, ext4 a copy; the first two cost no space",
        rootOnly, arguments: [("btrfs", "btrfs"), ("xfs", "reflink"), ("ext4", "copy")]
    )
    func providerPerFilesystem(filesystem type: String, expected provider: String) async throws {
        try await Harness.with { harness in
            try await LoopFilesystem.with([type], harness: harness) { disks in
                let disk = disks[0]
                try await harness.startCoordinator()
                let volume = try harness.folder("\(type)/volume")
                try await harness.startFlakyWriter("w", volume: volume)
                let big = volume + "/w/big.bin"
                try await disk.fill(big, megabytes: 64)
                let before = try await disk.usedKiB()
                let (session, set) = try await snapshotSet(harness, [volume])
                let grown = try await disk.usedKiB() - before
                let document = try await session.backupDocument()
                #expect(document.snapshotSet?.volumes.first?.provider == provider)
                #expect(document.snapshotSet?.volumes.first?.info?.filesystem == type)
                #expect(document.snapshotSet?.volumes.first?.info?.mountPoint == disk.mountPoint)
                let copy = try #require(set.snapshots[volume]) + "/w/big.bin"
                #expect(try await harness.run("/usr/bin/cmp", [big, copy]).status == 0)
                if provider == "copy" {
                    #expect(copy.hasPrefix(harness.snapshotRoot + "/"))
                } else {
                    #expect(grown < 8 * 1024, "the \(provider) snapshot used \(grown) KiB: not point-in-time sharing")
                    #expect(copy.hasPrefix(disk.mountPoint + "/.quiesce-snapshots/"))
                }
                if provider == "btrfs" {
                    #expect(!FileManager.default.createFile(atPath: set.snapshots[volume]! + "/new", contents: nil), "the btrfs snapshot is writable")
                }
                try await session.backupComplete(succeeded: true)
                try await session.close()
                #expect(!FileManager.default.fileExists(atPath: copy))
                for label in ["w", "quiesced"] { await harness.process(label)?.terminate() }
            }
        }
    }

    @Test("One set mixes providers (btrfs and copy); the notes database under its workload is consistent in the btrfs snapshot", rootOnly)
    func mixedSetWithNotes() async throws {
        try await Harness.with { harness in
            try await LoopFilesystem.with(["btrfs", "ext4"], harness: harness) { disks in
                try await harness.startCoordinator()
                let notes = try harness.folder("btrfs/notes")
                let (_, document) = try await backUpNotesUnderLoad(harness, notes: notes, files: try harness.folder("ext4/files"))
                #expect(document.snapshotSet?.provider == "btrfs+copy")
                #expect(Set(document.snapshotSet?.volumes.compactMap(\.provider) ?? []) == ["btrfs", "copy"])
                #expect(try FileManager.default.contentsOfDirectory(atPath: disks[0].mountPoint + "/.quiesce-snapshots").isEmpty)
                for label in ["notes", "files", "quiesced"] { await harness.process(label)?.terminate() }
            }
        }
    }

    @Test("A provider that runs past the write-hold limit fails the set: writers are aborted, the snapshots already made are deleted", rootOnly)
    func writeHoldLimit() async throws {
        try await Harness.with { harness in
            try await LoopFilesystem.with(["btrfs", "ext4"], harness: harness) { disks in
                try await harness.startCoordinator(["--write-hold-limit", "0.05", "--copy-size-limit", "1024"])
                let fast = try harness.folder("btrfs/fast")
                let slow = try harness.folder("ext4/slow")
                let writer = try await harness.startFlakyWriter("w", volume: fast)
                try await disks[1].fill(slow + "/big.bin", megabytes: 200)
                do {
                    _ = try await snapshotSet(harness, [fast, slow])
                    Issue.record("a 200 MiB copy finished within 50 ms")
                } catch let error as QuiesceError {
                    #expect(error.code == .providerFailed)
                    #expect(error.message.contains("longer than the write-hold limit"), "\(error.message)")
                }
                #expect(events(of: writer).contains("Abort"))
                #expect(try FileManager.default.contentsOfDirectory(atPath: disks[0].mountPoint + "/.quiesce-snapshots").isEmpty)
                #expect(try FileManager.default.contentsOfDirectory(atPath: harness.snapshotRoot).isEmpty)
                for label in ["w", "quiesced"] { await harness.process(label)?.terminate() }
            }
        }
    }

    @Test("Refused before any writer is told: a volume no provider can take (each provider says why), a filesystem mounted twice, a volume inside another", rootOnly)
    func refusals() async throws {
        try await Harness.with { harness in
            try await LoopFilesystem.with(["ext4"], harness: harness) { disks in
                try await harness.startCoordinator(["--copy-size-limit", "1"])
                let volume = try harness.folder("ext4/volume")
                let writer = try await harness.startFlakyWriter("w", volume: volume)
                try await disks[0].fill(volume + "/big.bin", megabytes: 8)
                let session = try await QuiesceClient(connection: harness.connection).createSession()
                _ = try await session.gatherWriterMetadata()
                try await session.addVolumes([volume])
                try await session.prepareForBackup()
                do {
                    _ = try await session.doSnapshotSet()
                    Issue.record("an 8 MiB volume was copied over a 1 MiB copy limit")
                } catch let error as QuiesceError {
                    #expect(error.code == .invalidArgument)
                    for reason in ["btrfs: not on btrfs (ext4)", "reflink: ext4 cannot share extents", "copy: it holds more than the copy limit of 1 MiB"] {
                        #expect(error.message.contains(reason), "\(error.message)")
                    }
                }
                #expect(!events(of: writer).contains("PrepareForSnapshot"))
                // Named, the copy provider takes it anyway.
                _ = try await session.doSnapshotSet(provider: "copy")
                try await session.close()

                let second = harness.bus.directory + "/second"
                try FileManager.default.createDirectory(atPath: second, withIntermediateDirectories: true)
                #expect(try await harness.run("/usr/bin/mount", ["--bind", disks[0].mountPoint, second]).status == 0)
                defer { Task { _ = try? await harness.run("/usr/bin/umount", ["-l", second]) } }
                let twice = try await QuiesceClient(connection: harness.connection).createSession()
                _ = try await twice.gatherWriterMetadata()
                for (volumes, reason) in [([volume, second + "/volume/w"], "mounted twice"), ([volume, volume + "/w"], "lies inside volume")] {
                    do {
                        try await twice.addVolumes(volumes)
                        Issue.record("accepted \(volumes)")
                    } catch let error as QuiesceError {
                        #expect(error.code == .invalidArgument)
                        #expect(error.message.contains(reason), "\(error.message)")
                    }
                }
                try await twice.close()
                for label in ["w", "quiesced"] { await harness.process(label)?.terminate() }
            }
        }
    }

    @Test("quiescectl providers says which providers serve here and why the others do not")
    func listProviders() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let listed = try await harness.quiescectl(["providers", "--json"])
            #expect(listed.status == 0, "\(listed.stderr)")
            let providers = try JSONCoding.decode([ProviderSummary].self, from: listed.stdout)
            #expect(Set(providers.map(\.name)).isSuperset(of: ["btrfs", "reflink", "copy", "null"]))
            #expect(providers.first { $0.name == "copy" }?.available == true)
            #expect(providers.first { $0.name == "btrfs" }?.available == Harness.isRoot)
            let table = try await harness.quiescectl(["providers"])
            #expect(table.stdout.contains("PROVIDER"))
        }
    }
}
