import Foundation
import Quiesce
import QuiesceProtocol
import QuiesceBus
import QuiesceRequester
import QuiesceTestSupport
import Testing

@Suite("Restore and session status", .serialized)
struct RestoreAndStatusTests {
    @Test("A restore puts the database back as it was at the backup; the writer closes and reopens it")
    func restoreNotes() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volumes/notes")
            let database = volume + "/notes.db"
            let writer = try await harness.start("notes", "notes-writer", ["--database", database], waitFor: BusNames.writerBusName("notes"))
            for index in 1...5 { _ = try await sqlite(harness, database, "INSERT INTO notes(body, created) VALUES('before \(index)', 0);") }
            let destination = harness.bus.directory + "/backup"
            #expect(try await harness.quiescectl(["backup", "--volume", volume, "--to", destination]).status == 0)
            for index in 1...7 { _ = try await sqlite(harness, database, "INSERT INTO notes(body, created) VALUES('after \(index)', 0);") }
            #expect(try await sqlite(harness, database, "SELECT count(*) FROM notes;") == "12")

            // Restored elsewhere, the writer checks the copy and leaves the live database open.
            let elsewhere = harness.bus.directory + "/elsewhere"
            let alternate = try await harness.quiescectl(["restore", "--from", destination, "--to", elsewhere])
            #expect(alternate.status == 0, "\(alternate.stderr)")
            #expect(try await sqlite(harness, elsewhere + database, "SELECT count(*) FROM notes;") == "5")
            #expect(writer.output.contains("the database restored to \(elsewhere + database) passes integrity_check"))
            #expect(try await sqlite(harness, database, "SELECT count(*) FROM notes;") == "12")

            let restore = try await harness.quiescectl(["restore", "--from", destination, "--yes"])
            #expect(restore.status == 0, "\(restore.stdout)\n\(restore.stderr)")
            #expect(try await sqlite(harness, database, "SELECT count(*) FROM notes;") == "5")
            #expect(try await sqlite(harness, database, "PRAGMA integrity_check;") == "ok")
            #expect(writer.output.contains("closed \(database) for the restore"))
            #expect(writer.output.contains("reopened \(database) after the restore"))
            // The writer works on after the restore: another backup succeeds.
            #expect(try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/again"]).status == 0)
        }
    }

    @Test("A writer that fails PostRestore makes the restore partial (exit 3), and the table shows every writer of the restore")
    func failedPostRestore() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("sore", volume: volume, ["--at", "PostRestore", "--code", "non-retryable", "--message", "cannot reopen"])
            try await harness.startFlakyWriter("fine", volume: volume)
            let destination = harness.bus.directory + "/backup"
            #expect(try await harness.quiescectl(["backup", "--volume", volume, "--to", destination]).status == 0)
            let restore = try await harness.quiescectl(["restore", "--from", destination, "--yes"])
            #expect(restore.status == 3, "\(restore.stdout)\n\(restore.stderr)")
            let rows = restore.stdout.split(separator: "\n").filter { $0.hasPrefix("sore ") || $0.hasPrefix("fine ") }
            #expect(rows.count == 2, "\(restore.stdout)")
            #expect(rows.first { $0.hasPrefix("sore ") }?.contains("failed-at-post-restore") == true, "\(restore.stdout)")
            #expect(rows.first { $0.hasPrefix("sore ") }?.contains("cannot reopen") == true, "\(restore.stdout)")
        }
    }

    @Test("A writer that refuses PreRestore stops the restore before any file is touched")
    func refusedRestore() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("busy", volume: volume, ["--at", "PreRestore", "--code", "retryable", "--message", "in use"])
            let destination = harness.bus.directory + "/backup"
            #expect(try await harness.quiescectl(["backup", "--volume", volume, "--to", destination]).status == 0)
            try "changed\n".write(toFile: volume + "/busy/file.txt", atomically: true, encoding: .utf8)
            let restore = try await harness.quiescectl(["restore", "--from", destination, "--yes"])
            #expect(restore.status == 1)
            #expect(restore.stderr.contains("busy: in use"))
            #expect(try String(contentsOfFile: volume + "/busy/file.txt", encoding: .utf8) == "changed\n")
        }
    }

    @Test("GatherWriterStatus reports a writer that died as not-responding; quiescectl status shows the session")
    func gatherWriterStatus() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let doomed = try await harness.startFlakyWriter("doomed", volume: volume)
            try await harness.startFlakyWriter("fine", volume: volume)
            let client = QuiesceClient(connection: harness.connection)
            let session = try await client.createSession()
            _ = try await session.gatherWriterMetadata()
            try await session.addVolumes([volume])
            try await session.prepareForBackup()

            let listed = try await harness.quiescectl(["status", "--json"])
            let sessions = try JSONCoding.decode([SessionSummary].self, from: listed.stdout)
            #expect(sessions.map(\.path) == [session.path])
            #expect(sessions.first?.phase == .prepared)
            #expect(sessions.first?.owner == harness.connection.uniqueName)

            doomed.signal(SIGKILL)
            _ = await doomed.waitForExit()
            let status = try await session.gatherWriterStatus()
            #expect(status.first { $0.name == "doomed" }?.failure == .notResponding)
            #expect(status.first { $0.name == "doomed" }?.state == .failedAtPrepareBackup)
            #expect(status.first { $0.name == "fine" }?.failure == nil)

            // Anyone may read a session's status; the table shows both writers.
            let shown = try await harness.quiescectl(["status", sessions[0].id])
            #expect(shown.status == 0)
            #expect(shown.stdout.contains("doomed  failed-at-prepare-backup  not-responding"))
            // Only the owner may drive it.
            let hijack = try await harness.busctl(["call", BusNames.coordinator, session.path, Session1.name, "AbortBackup"])
            #expect(hijack.status != 0)
            #expect(hijack.stderr.contains("only the connection that created session"))
            try await session.close()
        }
    }

    @Test("A writer in as many sessions as it takes reports status-not-available to the next one")
    func statusNotAvailable() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("w", volume: volume)
            let client = QuiesceClient(connection: harness.connection)
            var sessions: [RequesterSession] = []
            for _ in 0..<9 {  // the SDK's default limit is 8 sessions per writer
                let session = try await client.createSession()
                _ = try await session.gatherWriterMetadata()
                try await session.addVolumes([volume])
                try await session.prepareForBackup()
                sessions.append(session)
            }
            let statuses = try await sessions.asyncMap { try await $0.writerStatus().first { $0.name == "w" } }
            #expect(statuses.prefix(8).allSatisfy { $0?.failure == nil })
            #expect(statuses.last??.failure == .statusNotAvailable)
            #expect(statuses.last??.message == "the writer is in 8 sessions, its limit")
            let decision = RetryPolicy().decide(statuses.last!!, metadata: nil, volumes: [volume], attempt: 1, retryableFailures: 0, restarted: false)
            #expect(decision.reason.contains("waiting longer"))
            for session in sessions { try await session.close() }
            #expect(try await harness.writerProperty("w", "Sessions") == "u 0")
        }
    }
}

extension Array where Element: Sendable {
    /// Maps the elements in order with an async function.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
