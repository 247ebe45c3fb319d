import Foundation
import Quiesce
import QuiesceProtocol
import QuiesceBus
import QuiesceRequester
import QuiesceTestSupport
import Testing

private let rootOnly = ConditionTrait.enabled(
    if: Harness.isRoot,
    "SKIP: needs root to act as a second, unprivileged user through setpriv (CI runs as root)"
)

@Suite("Restore safety: no escapes, nothing lost", .serialized)
struct RestoreSafetyTests {
    @Test("A user who swaps their backed-up file for a symlink to a root-only file cannot make a restore write through it", rootOnly)
    func symlinkSwap() async throws {
        try await Harness.with(config: "system-like-bus.conf") { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("w", volume: volume)
            let home = try harness.folder("volume/home")
            #expect(chown(home, 65534, 65534) == 0)
            let notes = home + "/notes.txt"
            try "the user's own notes\n".write(toFile: notes, atomically: false, encoding: .utf8)
            #expect(chown(notes, 65534, 65534) == 0)
            let secret = harness.bus.directory + "/secret"
            try "root's secret\n".write(toFile: secret, atomically: false, encoding: .utf8)
            #expect(chmod(secret, 0o600) == 0)
            let destination = harness.bus.directory + "/backup"
            #expect(try await harness.quiescectl(["backup", "--volume", volume, "--to", destination]).status == 0)

            // The attack, as uid 65534: its file becomes a symlink to the root-only file.
            let swap = try await harness.runAsNobody("/bin/ln", ["-sfn", secret, notes])
            #expect(swap.status == 0, "\(swap.stderr)")
            let restore = try await harness.quiescectl(["restore", "--from", destination, "--yes"])
            #expect(restore.status == 0, "\(restore.stdout)\n\(restore.stderr)")

            #expect(try String(contentsOfFile: secret, encoding: .utf8) == "root's secret\n")
            let secretStatus = try FileManager.default.attributesOfItem(atPath: secret)
            #expect(secretStatus[.ownerAccountID] as? Int == 0)
            #expect(secretStatus[.posixPermissions] as? Int == 0o600)
            let restored = try FileManager.default.attributesOfItem(atPath: notes)
            #expect(restored[.type] as? FileAttributeType == .typeRegular)
            #expect(restored[.ownerAccountID] as? Int == 65534)
            #expect(try String(contentsOfFile: notes, encoding: .utf8) == "the user's own notes\n")
        }
    }

    @Test("A crafted backup document (.., absolute or symlinked data paths, bad volumes, foreign files) is refused and changes nothing")
    func craftedDocuments() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("w", volume: volume)
            let destination = harness.bus.directory + "/backup"
            #expect(try await harness.quiescectl(["backup", "--volume", volume, "--to", destination]).status == 0)
            let documentPath = destination + "/backup.json"
            let original = try JSONCoding.decode(BackupDocument.self, from: String(contentsOfFile: documentPath, encoding: .utf8))
            let outside = try harness.folder("outside")
            try "outside\n".write(toFile: outside + "/marker.txt", atomically: false, encoding: .utf8)
            try FileManager.default.createSymbolicLink(atPath: destination + "/data/evil", withDestinationPath: outside)
            try "changed\n".write(toFile: volume + "/w/file.txt", atomically: false, encoding: .utf8)

            let crafted: [(String, (inout BackupDocument) -> Void)] = [
                ("leaves the backup", { $0.snapshotSet!.volumes[0].dataPath = "../outside" }),
                ("leaves the backup", { $0.snapshotSet!.volumes[0].dataPath = outside }),
                ("a path component is a symlink", { $0.snapshotSet!.volumes[0].dataPath = "data/evil" }),
                ("is not an absolute normalized path", { $0.snapshotSet!.volumes[0].volume = volume + "/../outside" }),
                ("lies inside volume", { $0.snapshotSet!.volumes.append(VolumeSnapshot(volume: volume + "/w", snapshotPath: "", dataPath: "data")) }),
                ("which is on no volume of the backup", { $0.writers[0].metadata.components[0].files[0].path = "/etc" }),
            ]
            for (message, change) in crafted {
                var document = original
                change(&document)
                try JSONCoding.encode(document, pretty: true).write(toFile: documentPath, atomically: false, encoding: .utf8)
                let restore = try await harness.quiescectl(["restore", "--from", destination, "--yes"])
                #expect(restore.status == 1, "\(message): \(restore.stdout)")
                #expect(restore.stderr.contains(message), "\(restore.stderr)")
                #expect(try String(contentsOfFile: volume + "/w/file.txt", encoding: .utf8) == "changed\n")
                #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == ["marker.txt"])
                #expect(try String(contentsOfFile: outside + "/marker.txt", encoding: .utf8) == "outside\n")
                #expect(try FileManager.default.contentsOfDirectory(atPath: harness.bus.directory).allSatisfy { !$0.hasPrefix(".quiesce-") })
                // quiesced checks the document too: a requester that skips the checks gets a named error.
                let session = try await QuiesceClient(connection: harness.connection).createSession()
                _ = try await session.gatherWriterMetadata()
                if message != "a path component is a symlink" {
                    do {
                        try await session.preRestore(document)
                        Issue.record("quiesced accepted a crafted document: \(message)")
                    } catch let error as QuiesceError {
                        #expect(error.code == .invalidArgument, "\(error)")
                    }
                }
                try await session.close()
            }
            #expect(!events(of: try #require(harness.process("w"))).contains("PreRestore"))

            // The untouched document still restores.
            try JSONCoding.encode(original, pretty: true).write(toFile: documentPath, atomically: false, encoding: .utf8)
            let restore = try await harness.quiescectl(["restore", "--from", destination, "--yes"])
            #expect(restore.status == 0, "\(restore.stderr)")
            #expect(try String(contentsOfFile: volume + "/w/file.txt", encoding: .utf8) == "data of w\n")
        }
    }

    @Test("kill -9 of quiescectl restore at several points: the database is the old or the restored one, intact, the writer open; the next restore or quiesced finishes or rolls back")
    func killedRestore() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volumes = try harness.folder("volumes")
            let volume = try harness.folder("volumes/notes")
            let database = volume + "/notes.db"
            let writer = try await harness.start("notes", "notes-writer", ["--database", database], waitFor: BusNames.writerBusName("notes"))
            for index in 1...5 { _ = try await sqlite(harness, database, "INSERT INTO notes(body, created) VALUES('backed up \(index)', 0);") }
            // Bulk that makes staging take a while (written data: no holes to skip).
            #expect(try await harness.run("/usr/bin/dd", ["if=/dev/urandom", "of=\(volume)/bulk.bin", "bs=1M", "count=128", "status=none"]).status == 0)
            let destination = harness.bus.directory + "/backup"
            #expect(try await harness.quiescectl(["backup", "--volume", volume, "--to", destination]).status == 0)
            let workDirectories = { try FileManager.default.contentsOfDirectory(atPath: volumes).filter { $0.hasPrefix(".quiesce-restore-") } }

            enum Point: CaseIterable { case stoppedWhileStaging, duringStaging, afterSwap, quiescedRecovers }
            for point in Point.allCases {
                for index in 1...3 { _ = try await sqlite(harness, database, "INSERT INTO notes(body, created) VALUES('later \(index)', 0);") }
                #expect(try await sqlite(harness, database, "SELECT count(*) FROM notes;") == "8")
                let reopened = writer.output.components(separatedBy: "reopened \(database)").count
                let restore = try ChildProcess(
                    executable: Harness.binDirectory + "/quiescectl",
                    arguments: ["restore", "--address", harness.bus.address, "--state-dir", harness.stateDirectory, "--from", destination, "--yes"],
                    log: harness.bus.directory + "/logs/restore-\(point).log"
                )
                // A shell, not this test's task, stops the restore the moment its work directory
                // appears: the test's tasks share two threads with every other test running.
                let stopper = [Point.stoppedWhileStaging, .quiescedRecovers].contains(point) ? try ChildProcess(
                    executable: "/bin/sh",
                    arguments: ["-c", "while :; do for d in \"$0\"/.quiesce-restore-*; do [ -e \"$d\" ] && exec kill -STOP \"$1\"; done; done", volumes, "\(restore.pid)"],
                    log: harness.bus.directory + "/logs/stopper-\(point).log"
                ) : nil
                let line = point == .afterSwap ? "volume(s) into place" : "staging \(volume) from"
                let deadline = ContinuousClock.now + .seconds(30)
                while !restore.output.contains(line) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
                switch point {
                case .stoppedWhileStaging, .quiescedRecovers:
                    #expect(await stopper?.waitForExit(timeout: .seconds(30)) == 0, "the restore was stopped while staging")
                    // Mid-copy: the copy is staged beside the volume; the live database is untouched.
                    #expect(try workDirectories().count == 1)
                    #expect(try await sqlite(harness, database, "SELECT count(*) FROM notes;") == "8")
                case .duringStaging:
                    try await Task.sleep(for: .milliseconds(30))
                case .afterSwap:
                    break
                }
                restore.signal(SIGKILL)
                await restore.waitForExit()

                // quiesced sees the requester go and sends PostRestore(succeeded=false): the writer reopens.
                try await Harness.waitUntil("the writer reopens its database", timeout: .seconds(30)) {
                    writer.output.components(separatedBy: "reopened \(database)").count > reopened
                }
                let count = try await sqlite(harness, database, "SELECT count(*) FROM notes;")
                switch point {
                case .stoppedWhileStaging, .quiescedRecovers: #expect(count == "8", "killed while staging: the old database")
                case .duringStaging: #expect(count == "8" || count == "5", "\(count) notes: neither the old nor the restored database")
                case .afterSwap: #expect(count == "5", "killed after the swap: the restored database")
                }
                #expect(try await sqlite(harness, database, "PRAGMA integrity_check;") == "ok")
                #expect(try await harness.writerProperty("notes", "State") != "s \"waiting-for-post-restore\"")

                if point == .quiescedRecovers {
                    await harness.process("quiesced")?.terminate()
                    let restarted = try await harness.start("quiesced-again", "quiesced", ["--state-dir", harness.stateDirectory], waitFor: BusNames.coordinator)
                    try await Harness.waitUntil("quiesced rolls the restore back") { restarted.output.contains("rolled back the interrupted restore") || !restarted.isRunning }
                    #expect(restarted.output.contains("rolled back the interrupted restore"), "\(restarted.output)")
                    #expect(try workDirectories().isEmpty)
                    #expect(try await sqlite(harness, database, "SELECT count(*) FROM notes;") == "8")
                    continue
                }
                let again = try await harness.quiescectl(["restore", "--from", destination, "--yes"])
                #expect(again.status == 0, "\(again.stderr)")
                if point == .stoppedWhileStaging {
                    #expect(again.stderr.contains("rolled back the interrupted restore"), "\(again.stderr)")
                }
                #expect(try await sqlite(harness, database, "SELECT count(*) FROM notes;") == "5")
                #expect(try await sqlite(harness, database, "PRAGMA integrity_check;") == "ok")
                #expect(try workDirectories().isEmpty)
            }
        }
    }

    @Test("--dry-run lists what would change and changes nothing; over live data without a terminal, --yes is required; volumes that share a parent restore together")
    func dryRunAndConfirmation() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volumes/a")
            let other = try harness.folder("volumes/b")
            let writer = try await harness.startFlakyWriter("w", volume: volume)
            try await harness.startFlakyWriter("v", volume: other)
            let destination = harness.bus.directory + "/backup"
            #expect(try await harness.quiescectl(["backup", "--volume", volume, "--volume", other, "--to", destination]).status == 0)
            try "changed\n".write(toFile: volume + "/w/file.txt", atomically: false, encoding: .utf8)
            try "new\n".write(toFile: volume + "/w/new.txt", atomically: false, encoding: .utf8)
            try "changed\n".write(toFile: other + "/v/file.txt", atomically: false, encoding: .utf8)

            let dryRun = try await harness.quiescectl(["restore", "--from", destination, "--dry-run"])
            #expect(dryRun.status == 0, "\(dryRun.stderr)")
            #expect(dryRun.stdout.contains("replace  w/file.txt"), "\(dryRun.stdout)")
            #expect(dryRun.stdout.contains("remove   w/new.txt"), "\(dryRun.stdout)")
            #expect(dryRun.stdout.contains("replace  v/file.txt"), "\(dryRun.stdout)")
            #expect(dryRun.stdout.contains("3 change(s) in 2 volume(s)"), "\(dryRun.stdout)")

            let unconfirmed = try await harness.quiescectl(["restore", "--from", destination])
            #expect(unconfirmed.status == 1)
            #expect(unconfirmed.stderr.contains("run it on a terminal to confirm, or pass --yes"), "\(unconfirmed.stderr)")
            #expect(try String(contentsOfFile: volume + "/w/file.txt", encoding: .utf8) == "changed\n")
            #expect(FileManager.default.fileExists(atPath: volume + "/w/new.txt"))
            #expect(!events(of: writer).contains("PreRestore"))

            let restore = try await harness.quiescectl(["restore", "--from", destination, "--yes", "--keep-replaced"])
            #expect(restore.status == 0, "\(restore.stderr)")
            #expect(try String(contentsOfFile: volume + "/w/file.txt", encoding: .utf8) == "data of w\n")
            #expect(try String(contentsOfFile: other + "/v/file.txt", encoding: .utf8) == "data of v\n")
            #expect(!FileManager.default.fileExists(atPath: volume + "/w/new.txt"))
            // --keep-replaced: what the restore replaced is kept, and the path is printed.
            let kept = restore.stderr.split(separator: "\n").filter { $0.contains("what the restore replaced is kept in") }
            #expect(kept.count == 2)
            let keptPath = try #require(kept.map { String($0.split(separator: " ").last!) }.first { FileManager.default.fileExists(atPath: $0 + "/a") })
            #expect(try String(contentsOfFile: keptPath + "/a/w/new.txt", encoding: .utf8) == "new\n")
        }
    }

    @Test("--to restores below another directory and the writers are told; --component restores only that component's files")
    func alternateLocationAndComponents() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let one = try await harness.startFlakyWriter("one", volume: volume)
            let two = try await harness.startFlakyWriter("two", volume: volume)
            let destination = harness.bus.directory + "/backup"
            #expect(try await harness.quiescectl(["backup", "--volume", volume, "--to", destination]).status == 0)
            for name in ["one", "two"] { try "changed\n".write(toFile: volume + "/\(name)/file.txt", atomically: false, encoding: .utf8) }
            try "extra\n".write(toFile: volume + "/one/extra.txt", atomically: false, encoding: .utf8)

            let elsewhere = harness.bus.directory + "/elsewhere"
            let alternate = try await harness.quiescectl(["restore", "--from", destination, "--to", elsewhere])
            #expect(alternate.status == 0, "\(alternate.stderr)")
            #expect(try String(contentsOfFile: elsewhere + volume + "/one/file.txt", encoding: .utf8) == "data of one\n")
            #expect(try String(contentsOfFile: volume + "/one/file.txt", encoding: .utf8) == "changed\n")
            #expect(one.output.contains("RESTORE PreRestore target=alternate succeeded=- \(volume)=\(elsewhere + volume)"))
            #expect(one.output.contains("RESTORE PostRestore target=alternate succeeded=true"))

            let component = try await harness.quiescectl(["restore", "--from", destination, "--component", "one/data", "--yes"])
            #expect(component.status == 0, "\(component.stderr)")
            #expect(try String(contentsOfFile: volume + "/one/file.txt", encoding: .utf8) == "data of one\n")
            #expect(!FileManager.default.fileExists(atPath: volume + "/one/extra.txt"))
            #expect(try String(contentsOfFile: volume + "/two/file.txt", encoding: .utf8) == "changed\n")
            #expect(events(of: one).filter { $0 == "PreRestore" }.count == 2)
            #expect(events(of: two).filter { $0 == "PreRestore" }.count == 1)

            let unknown = try await harness.quiescectl(["restore", "--from", destination, "--component", "one/nothing", "--yes"])
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("writer one has no component nothing in the backup"))
        }
    }

    @Test("A restore that cannot put the files back sends PostRestore with succeeded=false: the writer reopens and State and LastError say so")
    func failedRestoreTellsTheWriters() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("parent/volume")
            let writer = try await harness.startFlakyWriter("w", volume: volume)
            let destination = harness.bus.directory + "/backup"
            #expect(try await harness.quiescectl(["backup", "--volume", volume, "--to", destination]).status == 0)
            // Someone puts a symlink in the volume's path: the restore must not follow it.
            let parent = harness.bus.directory + "/parent"
            try FileManager.default.moveItem(atPath: parent, toPath: parent + "-moved")
            try FileManager.default.createSymbolicLink(atPath: parent, withDestinationPath: parent + "-moved")

            let restore = try await harness.quiescectl(["restore", "--from", destination, "--yes"])
            #expect(restore.status == 1)
            #expect(restore.stderr.contains("nothing was restored"), "\(restore.stderr)")
            #expect(restore.stderr.contains("a path component is a symlink"), "\(restore.stderr)")
            #expect(writer.output.contains("RESTORE PostRestore target=original succeeded=false"))
            #expect(try await harness.writerProperty("w", "State") == "s \"failed-at-post-restore\"")
            #expect(try await harness.writerProperty("w", "LastError") == "s \"retryable\"")
            #expect(try FileManager.default.contentsOfDirectory(atPath: parent + "-moved") == ["volume"])
        }
    }
}
