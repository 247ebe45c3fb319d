import Foundation
import Quiesce
import QuiesceBus
import QuiesceTestSupport
import Testing

@Suite("Kept snapshot sets (persistent snapshots)", .serialized)
struct KeptSnapshotTests {
    @Test("snapshot create keeps a consistent set past Close and across a restart; list, paths, delete; the writers are told copy")
    func createListDelete() async throws {
        try await Harness.with { harness in
            let coordinator = try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await harness.startFlakyWriter("files", volume: volume)
            let created = try await harness.quiescectl(["snapshot", "create", "--volume", volume, "--keep", "2h"])
            #expect(created.status == 0, "\(created.stderr)")
            let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(Identifiers.isValid(id), "\(created.stdout)")
            #expect(events(of: writer).contains("BackupComplete") && events(of: writer).last == "BackupShutdown")

            // The live data changes; the kept snapshot does not.
            try "changed after the snapshot\n".write(toFile: volume + "/files/file.txt", atomically: true, encoding: .utf8)
            let paths = try await harness.quiescectl(["snapshot", "paths", id])
            #expect(paths.status == 0, "\(paths.stderr)")
            let fields = paths.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\t").map(String.init)
            #expect(fields.count == 2 && fields[0] == volume, "\(paths.stdout)")
            #expect(try String(contentsOfFile: fields[1] + "/files/file.txt", encoding: .utf8) == "data of files\n")

            var sets = try JSONCoding.decode([KeptSnapshotSet].self, from: try await harness.quiescectl(["snapshot", "list", "--json"]).stdout)
            let set = try #require(sets.first)
            #expect(sets.count == 1 && set.id == id && set.backupType == .copy && set.consistency == .succeeded)
            #expect(set.writers["files"]?.values.allSatisfy { $0 == .applicationConsistent } == true)
            #expect(set.bytes == Int64("data of files\n".utf8.count) && set.files >= 2)
            #expect(set.expires.timeIntervalSince(set.created) > 7000 && set.volumes.first?.provider == "copy")
            let table = try await harness.quiescectl(["snapshot", "list"])
            #expect(table.stdout.contains(id) && table.stdout.contains("application-consistent") && table.stdout.contains("copy"), "\(table.stdout)")

            // Across a restart of quiesced (which removes the sets a killed run left, not kept ones).
            await coordinator.terminate(grace: .seconds(5))
            try await harness.waitForNameGone(BusNames.coordinator)
            try await harness.start("quiesced-again", "quiesced", ["--state-dir", harness.stateDirectory], waitFor: BusNames.coordinator)
            sets = try JSONCoding.decode([KeptSnapshotSet].self, from: try await harness.quiescectl(["snapshot", "list", "--json"]).stdout)
            #expect(sets.map(\.id) == [id])
            #expect(FileManager.default.fileExists(atPath: fields[1] + "/files/file.txt"))

            let deleted = try await harness.quiescectl(["snapshot", "delete", id])
            #expect(deleted.status == 0, "\(deleted.stderr)")
            #expect(!FileManager.default.fileExists(atPath: fields[1]))
            #expect(try await harness.quiescectl(["snapshot", "list"]).stdout.contains("No kept snapshot sets."))
            let again = try await harness.quiescectl(["snapshot", "delete", id])
            #expect(again.status == 1 && again.stderr.contains("no kept snapshot set \(id)"), "\(again.stderr)")
            let unknown = try await harness.quiescectl(["snapshot", "paths", "nope"])
            #expect(unknown.status == 1 && unknown.stderr.contains("no kept snapshot set nope"))
        }
    }

    @Test("A kept set expires on its own; a failed backup keeps nothing; a bad --keep is refused")
    func expiryAndRefusals() async throws {
        try await Harness.with { harness in
            // The reaper runs every idle-timeout / 4: 1 s here.
            try await harness.startCoordinator(["--session-idle-timeout", "4"])
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("files", volume: volume)
            let created = try await harness.quiescectl(["snapshot", "create", "--volume", volume, "--keep", "8s"])
            #expect(created.status == 0, "\(created.stderr)")
            #expect(try await harness.quiescectl(["snapshot", "list"]).stdout.contains(created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
            try await Harness.waitUntil("the set expired", timeout: .seconds(40)) {
                try await harness.quiescectl(["snapshot", "list"]).stdout.contains("No kept snapshot sets.")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: harness.snapshotRoot).isEmpty)
            #expect(!(harness.process("quiesced")?.output.contains("could not") ?? true))

            try await harness.startFlakyWriter("vetoing", volume: volume, ["--at", "Freeze", "--code", "non-retryable", "--message", "no"])
            let failed = try await harness.quiescectl(["snapshot", "create", "--volume", volume, "--require", "vetoing"])
            #expect(failed.status == 1, "\(failed.stderr)")
            #expect(failed.stderr.contains("WriterFailed"), "\(failed.stderr)")
            #expect(try await harness.quiescectl(["snapshot", "list"]).stdout.contains("No kept snapshot sets."))
            #expect(try FileManager.default.contentsOfDirectory(atPath: harness.snapshotRoot).isEmpty)

            let partial = try await harness.quiescectl(["snapshot", "create", "--volume", volume])
            #expect(partial.status == 3, "\(partial.stderr)")
            #expect(try await harness.quiescectl(["snapshot", "list"]).stdout.contains("crash-consistent: vetoing"))

            for keep in ["0", "367d", "soon"] {
                let bad = try await harness.quiescectl(["snapshot", "create", "--volume", volume, "--keep", keep])
                #expect(bad.status == 64 && bad.stderr.contains("--keep"), "\(keep): \(bad.stderr)")
            }
        }
    }

    @Test("snapshot mount: as root the command sees the snapshot over the volume; others may not delete a set", .enabled(if: Harness.isRoot, "SKIP: needs root to mount in a private namespace and to run as nobody (CI runs as root)"))
    func mountAndOwnership() async throws {
        try await Harness.with(config: "system-like-bus.conf") { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("files", volume: volume)
            let created = try await harness.quiescectl(["snapshot", "create", "--volume", volume])
            let id = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try "changed after the snapshot\n".write(toFile: volume + "/files/file.txt", atomically: true, encoding: .utf8)
            let mounted = try await harness.quiescectl(["snapshot", "mount", id, "--", "/bin/sh", "-c", "cat \"$1\"/files/file.txt; echo $QUIESCE_SNAPSHOTS_MOUNTED", "sh", volume])
            #expect(mounted.status == 0, "\(mounted.stderr)")
            #expect(mounted.stdout == "data of files\n1\n", "\(mounted.stdout)")
            #expect(try String(contentsOfFile: volume + "/files/file.txt", encoding: .utf8) == "changed after the snapshot\n", "the mount stayed private")
            let status = try await harness.quiescectl(["snapshot", "mount", id, "--", "/bin/sh", "-c", "exit 7"])
            #expect(status.status == 7)

            let quiescectl = Harness.binDirectory + "/quiescectl"
            let denied = try await harness.runAsNobody(quiescectl, ["snapshot", "delete", "--address", harness.bus.address, id])
            #expect(denied.status == 1 && denied.stderr.lowercased().contains("denied"), "\(denied.stderr)")
            #expect(try await harness.quiescectl(["snapshot", "list"]).stdout.contains(id))
        }
    }
}
