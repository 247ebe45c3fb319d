import Foundation
import Quiesce
import QuiesceRequester
import QuiesceTestSupport
import Testing

@Suite("Writer discovery", .serialized)
struct DiscoveryTests {
    @Test("quiesced sees a writer that starts after it and forgets it when it stops")
    func writerComesAndGoes() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let before = try await harness.quiescectl(["writers", "--json"])
            #expect(before.status == 0)
            #expect(try JSONCoding.decode([WriterSummary].self, from: before.stdout).isEmpty)

            let writer = try await harness.startFlakyWriter("late", volume: try harness.folder("volume"))
            let during = try await harness.quiescectl(["writers", "--json"])
            let listed = try JSONCoding.decode([WriterSummary].self, from: during.stdout)
            #expect(listed.map(\.name) == ["late"])
            #expect(listed.first?.state == "stable")
            #expect(listed.first?.lastError == "no-error")
            #expect(listed.first?.classId == "a3c1f7e2-5d4b-4e8a-9f60-2b1d7c9e4f10")

            let table = try await harness.quiescectl(["writers"])
            #expect(table.stdout.hasPrefix("NAME  CLASS ID"))
            #expect(table.stdout.contains("\nlate  a3c1f7e2-5d4b-4e8a-9f60-2b1d7c9e4f10  "))

            await writer.terminate()
            try await harness.waitForNameGone(BusNames.writerBusName("late"))
            let after = try await harness.quiescectl(["writers", "--json"])
            #expect(try JSONCoding.decode([WriterSummary].self, from: after.stdout).isEmpty)
        }
    }

    @Test("Without quiesced on the bus, quiescectl says so instead of failing obscurely")
    func noCoordinator() async throws {
        try await Harness.with { harness in
            let writers = try await harness.quiescectl(["writers"])
            #expect(writers.status == 1)
            #expect(writers.stderr.contains("quiesced is not running on the bus at \(harness.bus.address)"))
            #expect(!writers.stderr.contains("Usage:"))
            let backup = try await harness.quiescectl(["backup", "--volume", try harness.folder("v"), "--to", harness.bus.directory + "/b"])
            #expect(backup.status == 1)
            #expect(backup.stderr.contains("quiesced is not running"))
        }
    }

    @Test("A stopped quiesced: quiescectl gives up with a reason instead of waiting forever")
    func stoppedCoordinator() async throws {
        try await Harness.with { harness in
            let coordinator = try await harness.startCoordinator()
            coordinator.signal(SIGSTOP)
            defer { coordinator.signal(SIGCONT) }
            let writers = try await harness.quiescectl(["writers"])
            #expect(writers.status == 1)
            #expect(writers.stderr.contains("quiesced stopped answering on the bus during ListWriters"), "\(writers.stderr)")
        }
    }

    @Test("Arguments that are not UTF-8 are refused, not turned into another path")
    func nonUTF8Arguments() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let result = try await harness.run("/bin/sh", [
                "-c", "exec \"$0\" backup --address \"$1\" --volume \"$2\" --to \"$(printf '%s/to-\\377' \"$3\")\"",
                Harness.binDirectory + "/quiescectl", harness.bus.address, volume, harness.bus.directory,
            ])
            #expect(result.status == 64)
            #expect(result.stderr.contains("is not valid UTF-8"), "\(result.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: harness.bus.directory).allSatisfy { !$0.hasPrefix("to-") })
        }
    }
    @Test("A writer the bus starts on demand is listed as not-running, and a backup starts it and backs it up")
    func activatableWriter() async throws {
        let data = try Self.scratchFolder("ondemand")
        try "data of ondemand\n".write(toFile: data + "/file.txt", atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: data) }
        // The bus's address is known only once it runs: the writer reads it from the bus's own
        // DBUS_STARTER_ADDRESS, as an activated program does (sh turns it into --address).
        let exec = "/bin/sh -c 'exec \"$0\" --address \"$DBUS_STARTER_ADDRESS\" --name ondemand --data \"$1\"' \(Harness.binDirectory)/flaky-writer \(data)"
        // A bus name below the writer prefix that is no writer's name is neither listed nor started.
        let services = [BusNames.writerBusName("ondemand"): exec, "org.quiesce.Writer.not.a_writer": "/bin/false"]
        try await Harness.with(services: services) { harness in
            try await harness.startCoordinator()
            let before = try JSONCoding.decode([WriterSummary].self, from: try await harness.quiescectl(["writers", "--json"]).stdout)
            #expect(before.map(\.name) == ["ondemand"])
            #expect(before.first?.state == "not-running")
            #expect(try await harness.connection.nameOwner(BusNames.writerBusName("ondemand")) == nil, "listing the writers must not start them")

            let volume = (data as NSString).deletingLastPathComponent
            let destination = harness.bus.directory + "/backup"
            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", destination])
            #expect(backup.status == 0, "\(backup.stdout)\n\(backup.stderr)")
            #expect(backup.stderr.contains("started 1 writer(s) on demand: ondemand"), "\(backup.stderr)")
            let document = try JSONCoding.decode(BackupDocument.self, from: String(contentsOfFile: destination + "/backup.json", encoding: .utf8))
            #expect(document.writers.map(\.metadata.name) == ["ondemand"])
            #expect(document.writers.flatMap(\.components).allSatisfy { $0.consistency == .applicationConsistent })
            let copied = destination + "/" + (document.snapshotSet?.volumes.first?.dataPath ?? "?") + "/ondemand/file.txt"
            #expect((try? String(contentsOfFile: copied, encoding: .utf8)) == "data of ondemand\n")

            #expect(!backup.stderr.contains("not.a_writer"), "\(backup.stderr)")
            let after = try JSONCoding.decode([WriterSummary].self, from: try await harness.quiescectl(["writers", "--json"]).stdout)
            #expect(after.map(\.name) == ["ondemand"])
            #expect(after.first?.state == "stable")
            // The activated writer is the bus's child, not the harness's: stop it here.
            let pid = try await harness.connection.unixProcessID(of: BusNames.writerBusName("ondemand"))
            kill(pid_t(pid), SIGTERM)
            try await harness.waitForNameGone(BusNames.writerBusName("ondemand"))
        }
    }

    @Test("A writer the bus cannot start is left out of the backup with the bus's reason")
    func activatableWriterThatCannotStart() async throws {
        try await Harness.with(services: [BusNames.writerBusName("broken"): "/bin/false"]) { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let files = try await harness.startFlakyWriter("files", volume: volume)
            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--json"])
            #expect(backup.status == 3, "a writer left out makes the backup partial: \(backup.stdout)\n\(backup.stderr)")
            let document = try JSONLines.backupDocument(backup.stdout)
            let broken = try #require(document.writers.first { $0.metadata.name == "broken" })
            #expect(broken.status.state == .failedAtIdentify)
            #expect(broken.status.failure == .notResponding)
            #expect(broken.status.message.contains("the bus could not start the writer (org.freedesktop.DBus.Error.Spawn"), "\(broken.status.message)")
            #expect(document.writers.first { $0.metadata.name == "files" }?.components.allSatisfy { $0.consistency == .applicationConsistent } == true)
            #expect(events(of: files).contains("Thaw"))
        }
    }

    /// A fresh folder outside any test's bus folder (a service file names it before the bus runs).
    static func scratchFolder(_ name: String) throws -> String {
        var template = Array("/tmp/quiesce-\(name)-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        let volume = String(cString: created)
        try FileManager.default.createDirectory(atPath: volume + "/" + name, withIntermediateDirectories: true)
        return volume + "/" + name
    }
}
