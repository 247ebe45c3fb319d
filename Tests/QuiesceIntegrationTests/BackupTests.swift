import Foundation
import Quiesce
import QuiesceTestSupport
import Testing

/// The lines a flaky-writer logged with `EVENT <event> <session> <time>`, from `EVENT` on.
func eventLines(of process: ChildProcess) -> [[Substring]] {
    process.output.split(separator: "\n").compactMap { line in
        line.range(of: "EVENT ").map { line[$0.lowerBound...].split(separator: " ") }
    }
}

/// The events a flaky-writer received, in order.
func events(of process: ChildProcess) -> [String] {
    eventLines(of: process).map { String($0[1]) }
}

/// Runs `sqlite3` on a database and returns its output.
func sqlite(_ harness: Harness, _ database: String, _ sql: String) async throws -> String {
    try await harness.run("/usr/bin/sqlite3", [database, sql]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite("Backups with real writers", .serialized)
struct BackupTests {
    @Test("Two writers, one an SQLite database under a running workload: the copy is consistent")
    func twoWriters() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let notesVolume = try harness.folder("volumes/notes")
            let filesVolume = try harness.folder("volumes/files")
            try await harness.start("notes", "notes-writer", ["--database", notesVolume + "/notes.db", "--workload", "--interval-ms", "2"], waitFor: BusNames.writerBusName("notes"))
            let files = try await harness.startFlakyWriter("files", volume: filesVolume)
            try await Task.sleep(for: .milliseconds(300))

            let destination = harness.bus.directory + "/backup"
            let result = try await harness.quiescectl(["backup", "--volume", notesVolume, "--volume", filesVolume, "--to", destination])
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains("backup succeeded"))
            for phase in ["[prepare-for-backup]", "[prepare-for-snapshot]", "[freeze]", "[snapshot]", "[thaw]", "[post-snapshot]", "[backup-complete]"] {
                #expect(result.stderr.contains(phase), "no progress line \(phase)")
            }

            let document = try JSONCoding.decode(BackupDocument.self, from: String(contentsOfFile: destination + "/backup.json", encoding: .utf8))
            #expect(document.outcome == .succeeded)
            #expect(document.writers.map(\.metadata.name) == ["files", "notes"])
            #expect(document.writers.flatMap(\.components).allSatisfy { $0.consistency == .applicationConsistent })
            #expect(document.writers.first { $0.metadata.name == "notes" }?.components.map(\.fullPath) == ["sqlite/notes"])
            let volumes = try #require(document.snapshotSet?.volumes)
            #expect(volumes.map(\.volume) == [notesVolume, filesVolume])

            let copy = destination + "/" + volumes[0].dataPath + "/notes.db"
            #expect(try await sqlite(harness, copy, "PRAGMA integrity_check;") == "ok")
            let copied = Int(try await sqlite(harness, copy, "SELECT count(*) FROM notes;")) ?? 0
            #expect(copied > 0)
            // The workload went on after the backup: the live database has more notes.
            try await Task.sleep(for: .milliseconds(200))
            #expect((Int(try await sqlite(harness, notesVolume + "/notes.db", "SELECT count(*) FROM notes;")) ?? 0) > copied)
            #expect(try String(contentsOfFile: destination + "/" + volumes[1].dataPath + "/files/file.txt", encoding: .utf8) == "data of files\n")

            // The snapshot set is gone once the session is closed.
            #expect(try FileManager.default.contentsOfDirectory(atPath: harness.snapshotRoot).isEmpty)
            #expect(events(of: files) == ["PrepareForBackup", "PrepareForSnapshot", "Freeze", "Thaw", "PostSnapshot", "BackupComplete", "BackupShutdown"])
            #expect(try await harness.writerProperty("notes", "State") == "s \"stable\"")
        }
    }

    @Test("A writer whose components are on no volume of the set gets no events after Identify")
    func unselectedWriterGetsNoEvents() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let inSet = try harness.folder("volumes/in")
            let outside = try harness.folder("volumes/out")
            let selected = try await harness.startFlakyWriter("selected", volume: inSet)
            let ignored = try await harness.startFlakyWriter("ignored", volume: outside)
            let result = try await harness.quiescectl(["backup", "--volume", inSet, "--to", harness.bus.directory + "/backup"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(events(of: selected).count == 7)
            #expect(events(of: ignored).isEmpty)
        }
    }

    @Test("A destination inside a volume of the backup is refused before anything happens")
    func refusesDestinationInsideVolume() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await harness.startFlakyWriter("w", volume: volume)
            let result = try await harness.quiescectl(["backup", "--volume", volume, "--to", volume + "/backup"])
            #expect(result.status == 1)
            #expect(result.stderr.contains("is inside the volume \(volume): the backup would copy itself"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: volume + "/backup"))
            #expect(events(of: writer).isEmpty)
        }
    }

    @Test("A destination that is not empty is refused before anything happens")
    func refusesNonEmptyDestination() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await harness.startFlakyWriter("w", volume: volume)
            let destination = try harness.folder("used")
            try "keep me".write(toFile: destination + "/precious", atomically: true, encoding: .utf8)
            let result = try await harness.quiescectl(["backup", "--volume", volume, "--to", destination])
            #expect(result.status == 1)
            #expect(result.stderr.contains("not an empty directory"))
            #expect(try String(contentsOfFile: destination + "/precious", encoding: .utf8) == "keep me")
            #expect(events(of: writer).isEmpty)
        }
    }
}
