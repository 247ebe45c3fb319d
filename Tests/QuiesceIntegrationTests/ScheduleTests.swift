import Foundation
import Quiesce
import QuiesceBus
import QuiesceTestSupport
import Testing

/// Examples/systemd, as shipped.
private let examples = PrivateBus.repository + "/Examples/systemd"

/// An EnvironmentFile as systemd reads the sample: `KEY=VALUE` lines, `#` comments, a value in
/// single or double quotes taken as is.
private func environmentFile(_ text: String) -> [String: String] {
    var values: [String: String] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let equals = line.firstIndex(of: "=") else { continue }
        var value = String(line[line.index(after: equals)...])
        if value.count >= 2, let first = value.first, first == "'" || first == "\"", value.last == first { value = String(value.dropFirst().dropLast()) }
        values[String(line[..<equals])] = value
    }
    return values
}

/// The unit's ExecStart, expanded as systemd does: `$NAME` split on spaces, `${NAME}` one word.
private func execStart(_ unit: String, _ environment: [String: String]) throws -> [String] {
    guard let line = unit.split(separator: "\n").first(where: { $0.hasPrefix("ExecStart=") }) else { throw TestFailure("no ExecStart") }
    return line.dropFirst("ExecStart=".count).split(separator: " ").flatMap { word -> [String] in
        if word.hasPrefix("${"), word.hasSuffix("}") { return [environment[String(word.dropFirst(2).dropLast())] ?? ""] }
        if word.hasPrefix("$") { return (environment[String(word.dropFirst())] ?? "").split(separator: " ").map(String.init) }
        return [String(word)]
    }
}

@Suite("On a schedule: quiesce-backup@.service and .timer", .serialized)
struct ScheduleTests {
    @Test("systemd-analyze verify accepts the shipped service and timer, and refuses a broken one")
    func unitsVerify() async throws {
        try await Harness.with { harness in
            let folder = try harness.folder("units")
            // The units name the installed quiescectl; here it is the one just built.
            let service = try String(contentsOfFile: examples + "/quiesce-backup@.service", encoding: .utf8)
                .replacingOccurrences(of: "/usr/local/bin/quiescectl", with: Harness.binDirectory + "/quiescectl")
            try service.write(toFile: folder + "/quiesce-backup@notes.service", atomically: true, encoding: .utf8)
            let timer = try String(contentsOfFile: examples + "/quiesce-backup@.timer", encoding: .utf8)
            try timer.write(toFile: folder + "/quiesce-backup@notes.timer", atomically: true, encoding: .utf8)
            let verified = try await harness.run("/usr/bin/systemd-analyze", ["verify", folder + "/quiesce-backup@notes.service", folder + "/quiesce-backup@notes.timer"])
            #expect(verified.status == 0, "\(verified.stderr)")
            #expect(!verified.stderr.contains("quiesce-backup"), "\(verified.stderr)")

            try timer.replacingOccurrences(of: "OnCalendar=*-*-* 02:30:00", with: "OnCalendar=at half past two")
                .write(toFile: folder + "/quiesce-backup@notes.timer", atomically: true, encoding: .utf8)
            let broken = try await harness.run("/usr/bin/systemd-analyze", ["verify", folder + "/quiesce-backup@notes.timer"])
            #expect(broken.status != 0 && broken.stderr.contains("calendar"), "\(broken.stderr)")
        }
    }

    @Test("The service's command line with the sample notes.conf backs the notes writer up with restic, the document in the repository", .enabled(if: ExecBackupTests.mountsSnapshots))
    func sampleConfiguration() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("srv/notes")
            try await harness.start("notes", "notes-writer", ["--database", volume + "/notes.db", "--workload", "--interval-ms", "5"], waitFor: BusNames.writerBusName("notes"))
            try await Task.sleep(for: .milliseconds(200))
            let repository = harness.bus.directory + "/restic"
            let password = harness.bus.directory + "/notes.restic-password"
            try "quiesce-test\n".write(toFile: password, atomically: true, encoding: .utf8)
            let sample = try String(contentsOfFile: examples + "/notes.conf", encoding: .utf8)
                .replacingOccurrences(of: "/srv/notes", with: volume)
                .replacingOccurrences(of: "/backups/restic", with: repository)
                .replacingOccurrences(of: "/etc/quiesce/backup/notes.restic-password", with: password)
            let environment = environmentFile(sample)
            let restic = ["/usr/bin/env", "RESTIC_PASSWORD_FILE=\(password)", "/usr/bin/restic", "--quiet", "-r", repository]
            #expect(try await harness.run(restic[0], Array(restic.dropFirst()) + ["init"]).status == 0)

            let unit = try String(contentsOfFile: examples + "/quiesce-backup@.service", encoding: .utf8)
            var argv = try execStart(unit, environment)
            #expect(argv.first == "/usr/local/bin/quiescectl" && argv.contains("--system"))
            argv[0] = Harness.binDirectory + "/quiescectl"
            // systemd gives the service the file's variables; --system is this test's bus.
            let variables = environment.map { "\($0.key)=\($0.value)" } + ["DBUS_SYSTEM_BUS_ADDRESS=\(harness.bus.address)", "PATH=/usr/bin:/bin"]
            let run = try await harness.run("/usr/bin/env", ["-i"] + variables + argv)
            #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
            #expect(run.stderr.contains("backup succeeded: /bin/sh exited with 0"), "\(run.stderr)")

            let snapshots = try await harness.run(restic[0], Array(restic.dropFirst()) + ["snapshots", "--json"])
            #expect(snapshots.stdout.contains("\"quiesce\""), "tagged as the sample says: \(snapshots.stdout)")
            let restored = try harness.folder("restored")
            #expect(try await harness.run(restic[0], Array(restic.dropFirst()) + ["restore", "latest", "--target", restored]).status == 0)
            #expect(try await sqlite(harness, restored + volume + "/notes.db", "PRAGMA integrity_check;") == "ok")
            #expect(try FileManager.default.contentsOfDirectory(atPath: restored + "/tmp").isEmpty == false, "the backup document went along")
        }
    }
}
