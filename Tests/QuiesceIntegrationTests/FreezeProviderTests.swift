import Foundation
import Quiesce
import QuiesceProtocol
import QuiesceBus
import QuiesceRequester
import QuiesceTestSupport
import Testing

private let rootOnly = ConditionTrait.enabled(
    if: Harness.isRoot,
    "SKIP: needs root to mount loop filesystems and freeze them (CI runs as root)"
)

/// quiesced configured with the FAKE device-snapshot command (no device-mapper or ZFS here: it
/// copies the frozen filesystem instead of snapshotting its device) as `freeze-command` and
/// `snapshot-command`.
@discardableResult
private func startCoordinator(_ harness: Harness, fake options: [String] = [], _ arguments: [String] = []) async throws -> (ChildProcess, store: String) {
    let store = try harness.folder("fake-snapshots")
    let command = ["/usr/bin/python3", PrivateBus.repository + "/Tests/Scripts/fake-device-snapshot.py", "--store", store] + options
    let configuration = harness.bus.directory + "/quiesced.json"
    try JSONSerialization.data(withJSONObject: ["freeze-command": command, "snapshot-command": command], options: [.prettyPrinted])
        .write(to: URL(fileURLWithPath: configuration))
    return (try await harness.startCoordinator(["--config", configuration] + arguments), store)
}

/// A process that appends a line to `file` every 20 ms: it blocks while the filesystem is frozen.
private func startTicker(_ harness: Harness, _ file: String) async throws -> ChildProcess {
    let ticker = try ChildProcess(
        executable: "/bin/sh", arguments: ["-c", "while :; do echo tick >> '\(file)'; sleep 0.02; done"], log: harness.bus.directory + "/logs/ticker.log"
    )
    try await Harness.waitUntil("the ticker writes") { FileManager.default.fileExists(atPath: file) }
    return ticker
}

private func size(_ file: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int) ?? 0
}

/// How long after `start` the ticker's file grows again.
private func resumption(of file: String, after start: ContinuousClock.Instant, timeout: Duration = .seconds(30)) async throws -> Duration {
    let frozenSize = size(file)
    try await Harness.waitUntil("writes resume", timeout: timeout) { size(file) > frozenSize }
    return ContinuousClock.now - start
}

@Suite("The freeze and command providers, with a fake device snapshot", .serialized)
struct FreezeProviderTests {
    @Test("freeze: the notes database under its workload on ext4, frozen while the device is snapshotted, passes integrity_check; btrfs and freeze mix in one set", rootOnly)
    func notesOnFrozenExt4() async throws {
        try await Harness.with { harness in
            try await LoopFilesystem.with(["ext4", "btrfs"], harness: harness) { _ in
                try await startCoordinator(harness)
                let (backup, document) = try await backUpNotesUnderLoad(harness, notes: try harness.folder("ext4/notes"), files: try harness.folder("btrfs/files"))
                #expect(backup.stdout.contains("freezing \(harness.bus.directory)/ext4 while /usr/bin/python3 snapshots them"), "\(backup.stdout)")
                #expect(document.snapshotSet?.provider == "freeze+btrfs" || document.snapshotSet?.provider == "btrfs+freeze")
                for label in ["notes", "files", "quiesced"] { await harness.process(label)?.terminate() }
            }
        }
    }

    @Test("kill -9 of quiesced, or of the snapshot command, while ext4 and XFS are frozen: writes resume at once, and never later than the lease", rootOnly, arguments: ["quiesced", "command", "nobody"])
    func killWhileFrozen(killed: String) async throws {
        try await Harness.with { harness in
            try await LoopFilesystem.with(["ext4", "xfs"], harness: harness) { disks in
                let (coordinator, store) = try await startCoordinator(harness, fake: ["--hang"], ["--write-hold-limit", "4"])
                let volumes = try disks.map { try harness.folder($0.type + "/volume") }
                try await harness.startFlakyWriter("w", volume: volumes[0])
                let tickers = try await volumes.asyncMap { try await startTicker(harness, $0 + "/ticks") }
                defer { for ticker in tickers { ticker.signal(SIGKILL) } }
                let snapshot = Task {
                    try await snapshotSet(harness, volumes, provider: "freeze")
                }
                try await Harness.waitUntil("the snapshot command runs while both are frozen") {
                    try FileManager.default.contentsOfDirectory(atPath: store).contains { $0.hasSuffix(".hanging") }
                }
                let start = ContinuousClock.now
                switch killed {
                case "quiesced":
                    coordinator.signal(SIGKILL)
                case "command":
                    let marker = try FileManager.default.contentsOfDirectory(atPath: store).first { $0.hasSuffix(".hanging") }!
                    let pid = Int32(try String(contentsOfFile: store + "/" + marker, encoding: .utf8)) ?? 0
                    #expect(pid > 0 && kill(pid, SIGKILL) == 0)
                default:
                    break  // nobody: the lease (the write-hold limit, 4 s) runs out
                }
                for volume in volumes {
                    let resumed = try await resumption(of: volume + "/ticks", after: start)
                    print("freeze: killed \(killed): writes to \(volume) resumed after \(resumed)")
                    #expect(resumed < .seconds(5), "writes to \(volume) were held \(resumed), past the 4 s lease")
                    if killed != "nobody" { #expect(resumed < .seconds(2), "writes to \(volume) were held \(resumed) after the kill") }
                }
                if killed == "quiesced" {
                    snapshot.cancel()
                } else {
                    do {
                        _ = try await snapshot.value
                        Issue.record("the set was made although the snapshot command did not finish")
                    } catch let error as QuiesceError {
                        #expect(error.code == .providerFailed, "\(error)")
                    }
                }
                await harness.process("w")?.terminate()
                await harness.process("quiesced")?.terminate()
            }
        }
    }

    @Test("command: the snapshot command alone; a failing command fails the set and deletes the snapshots already made", rootOnly)
    func commandProviderAndFailure() async throws {
        try await Harness.with { harness in
            try await LoopFilesystem.with(["ext4", "btrfs"], harness: harness) { disks in
                let (_, store) = try await startCoordinator(harness)
                let volume = try harness.folder("ext4/volume")
                try await harness.startFlakyWriter("w", volume: volume)
                let (session, set) = try await snapshotSet(harness, [volume], provider: "command")
                let snapshot = try #require(set.snapshots[volume])
                #expect(snapshot.hasPrefix(store + "/"))
                #expect(try String(contentsOfFile: snapshot + "/w/file.txt", encoding: .utf8) == "data of w\n")
                try await session.close()
                #expect(try FileManager.default.contentsOfDirectory(atPath: store).isEmpty, "delete left the fake snapshot behind")
                await harness.process("quiesced")?.terminate()

                // A failing device snapshot after a btrfs snapshot of the same set.
                try await startCoordinator(harness, fake: ["--fail", "the volume group is full"])
                let btrfsVolume = try harness.folder("btrfs/volume")
                do {
                    _ = try await snapshotSet(harness, [btrfsVolume, volume])
                    Issue.record("the set was made although the device snapshot failed")
                } catch let error as QuiesceError {
                    #expect(error.code == .providerFailed)
                    #expect(error.message.contains("the volume group is full"), "\(error.message)")
                }
                #expect(try FileManager.default.contentsOfDirectory(atPath: disks[1].mountPoint + "/.quiesce-snapshots").isEmpty)
                for label in ["w", "quiesced"] { await harness.process(label)?.terminate() }
            }
        }
    }
}
