import Foundation
import Quiesce
import QuiesceBus
import QuiesceRequester
import QuiesceTestSupport
import Testing

/// A notes database under its workload, with its writer, on a volume of its own.
private func startNotes(_ harness: Harness) async throws -> (volume: String, database: String) {
    try await harness.startCoordinator()
    let volume = try harness.folder("volumes/notes")
    let database = volume + "/notes.db"
    try await harness.start("notes", "notes-writer", ["--database", database, "--workload", "--interval-ms", "2"], waitFor: BusNames.writerBusName("notes"))
    try await Task.sleep(for: .milliseconds(300))
    return (volume, database)
}

/// Checks a restored copy of the notes database: intact, with notes, older than the live one
/// (the workload went on while the tool read the snapshot); returns its count.
@discardableResult
private func checkRestored(_ harness: Harness, _ copy: String, live: String) async throws -> Int {
    #expect(try await sqlite(harness, copy, "PRAGMA integrity_check;") == "ok")
    let restored = Int(try await sqlite(harness, copy, "SELECT count(*) FROM notes;")) ?? 0
    #expect(restored > 0)
    let now = Int(try await sqlite(harness, live, "SELECT count(*) FROM notes;")) ?? 0
    #expect(now > restored, "the tool read the frozen snapshot, not the live database (\(restored) then, \(now) now)")
    return restored
}

/// The backup document inside a restored tree.
private func restoredDocument(_ root: String) throws -> BackupDocument {
    let finder = FileManager.default.enumerator(atPath: root)
    while let path = finder?.nextObject() as? String {
        if path.hasSuffix("/backup.json") { return try JSONCoding.decode(BackupDocument.self, from: String(contentsOfFile: root + "/" + path, encoding: .utf8)) }
    }
    throw TestFailure("no backup.json under \(root)")
}

@Suite("quiescectl backup --exec: restic, borg and tar read the held snapshot", .serialized)
struct ExecBackupTests {
    /// A mount namespace needs root (CI is root); elsewhere these tests are skipped, loudly, and
    /// the command would read $QUIESCE_SNAPSHOTS instead.
    static let mountsSnapshots: Bool = {
        if !Harness.isRoot { print("SKIP: quiescectl backup --exec with restic, borg and tar needs root (a mount namespace)") }
        return Harness.isRoot
    }()

    @Test("tar: the volume's own path is the read-only snapshot; the archive restores an intact database and the document", .enabled(if: Self.mountsSnapshots))
    func tar() async throws {
        try await Harness.with { harness in
            let (volume, database) = try await startNotes(harness)
            let archive = harness.bus.directory + "/notes.tar"
            let script = """
                touch \(volume)/probe 2>/dev/null && { echo "the volume is writable"; exit 9; }
                [ "$QUIESCE_SNAPSHOTS_MOUNTED" = 1 ] || exit 8
                sleep 0.3
                tar -cf \(archive) -C / "$(echo \(volume) | cut -c2-)" "$(echo "$QUIESCE_DOCUMENT" | cut -c2-)"
                """
            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--require", "notes", "--exec", "--", "/bin/sh", "-c", script])
            #expect(backup.status == 0, "\(backup.stderr)")
            #expect(backup.stderr.contains("with each snapshot mounted read-only over its volume"))
            #expect(backup.stderr.contains("backup succeeded: /bin/sh exited with 0"))
            let restored = try harness.folder("restored")
            #expect(try await harness.run("/usr/bin/tar", ["-xf", archive, "-C", restored]).status == 0)
            try await checkRestored(harness, restored + volume + "/notes.db", live: database)
            let document = try restoredDocument(restored)
            #expect(document.writers.first { $0.metadata.name == "notes" }?.components.map(\.consistency) == [.applicationConsistent])
            #expect(try FileManager.default.contentsOfDirectory(atPath: harness.snapshotRoot).isEmpty, "the set is released after the command")
        }
    }

    @Test("restic: backup through --exec, restic restore into a new directory, integrity_check ok", .enabled(if: Self.mountsSnapshots))
    func restic() async throws {
        try await Harness.with { harness in
            let (volume, database) = try await startNotes(harness)
            let repository = harness.bus.directory + "/restic"
            let restic = ["/usr/bin/env", "RESTIC_PASSWORD=quiesce-test", "/usr/bin/restic", "--quiet", "-r", repository]
            #expect(try await harness.run(restic[0], Array(restic.dropFirst()) + ["init"]).status == 0)
            let backup = try await harness.quiescectl(
                ["backup", "--volume", volume, "--require", "notes", "--exec", "--", "/bin/sh", "-c", "exec \"$@\" \"$QUIESCE_DOCUMENT\"", "sh"]
                    + restic + ["backup", volume]
            )
            #expect(backup.status == 0, "\(backup.stderr)")
            let restored = try harness.folder("restored")
            let restore = try await harness.run(restic[0], Array(restic.dropFirst()) + ["restore", "latest", "--target", restored])
            #expect(restore.status == 0, "\(restore.stderr)")
            try await checkRestored(harness, restored + volume + "/notes.db", live: database)
            #expect(try restoredDocument(restored).outcome == .succeeded)
        }
    }

    @Test("borg: backup through --exec, borg extract into a new directory, integrity_check ok", .enabled(if: Self.mountsSnapshots))
    func borg() async throws {
        try await Harness.with { harness in
            let (volume, database) = try await startNotes(harness)
            let repository = harness.bus.directory + "/borg"
            let borg = ["/usr/bin/env", "BORG_PASSPHRASE=", "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes", "BORG_BASE_DIR=\(harness.bus.directory)/borg-home", "/usr/bin/borg"]
            #expect(try await harness.run(borg[0], Array(borg.dropFirst()) + ["init", "--encryption", "none", repository]).status == 0)
            let backup = try await harness.quiescectl(
                ["backup", "--volume", volume, "--require", "notes", "--exec", "--", "/bin/sh", "-c", "exec \"$@\" \"$QUIESCE_DOCUMENT\"", "sh"]
                    + borg + ["create", repository + "::notes", volume]
            )
            #expect(backup.status == 0, "\(backup.stderr)")
            let restored = try harness.folder("restored")
            let extract = try await harness.run("/bin/sh", ["-c", "cd \(restored) && exec \"$@\"", "sh"] + borg + ["extract", repository + "::notes"])
            #expect(extract.status == 0, "\(extract.stderr)")
            try await checkRestored(harness, restored + volume + "/notes.db", live: database)
            #expect(try restoredDocument(restored).outcome == .succeeded)
        }
    }

    @Test("Two runs that collide: the second waits for the first's snapshot (Busy) instead of failing")
    func collidingRunsWait() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            // The second backup is of another volume: its events never queue behind the slow
            // writer's Freeze, so it reaches its snapshot while the first still takes its own.
            let other = try harness.folder("other")
            try "data\n".write(toFile: other + "/file.txt", atomically: true, encoding: .utf8)
            let slow = try await harness.startFlakyWriter("slow", volume: volume, ["--at", "Freeze", "--mode", "slow", "--delay-ms", "2000", "--times", "1"])
            let first = Task { try await harness.quiescectl(["backup", "--volume", volume, "--exec", "--", "/bin/true"]) }
            try await Harness.waitUntil("the first backup is frozen") { events(of: slow).contains("Freeze") }
            let second = try await harness.quiescectl(["backup", "--volume", other, "--busy-wait", "30", "--exec", "--", "/bin/true"])
            #expect(second.status == 0, "\(second.stderr)")
            #expect(second.stderr.contains("another backup is taking its snapshot (Busy): waiting"), "\(second.stderr)")
            #expect(try await first.value.status == 0)
        }
    }

    @Test("The command's failure is the backup's: BackupComplete(succeeded=false), quiescectl exits with its status; bad command lines are refused")
    func commandFails() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await harness.startFlakyWriter("w", volume: volume)
            let failed = try await harness.quiescectl(["backup", "--volume", volume, "--exec", "--", "/bin/sh", "-c", "echo 'disk full' >&2; exit 7"])
            #expect(failed.status == 7)
            #expect(failed.stderr.contains("backup failed: /bin/sh exited with 7"), "\(failed.stderr)")
            #expect(events(of: writer).suffix(2) == ["BackupComplete", "BackupShutdown"])
            #expect(try FileManager.default.contentsOfDirectory(atPath: harness.snapshotRoot).isEmpty)

            let noCommand = try await harness.quiescectl(["backup", "--volume", volume, "--exec"])
            #expect(noCommand.status == 64)
            #expect(noCommand.stderr.contains("--exec needs the command after --"))
            let both = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/x", "--exec", "--", "true"])
            #expect(both.status == 64)
            #expect(both.stderr.contains("--exec and --to exclude each other"))
        }
    }
}
