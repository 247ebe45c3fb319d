import Foundation
import Quiesce
import QuiesceBus
import QuiesceProtocol
import QuiesceRequester
import QuiesceTestSupport
import Testing

/// A hook set on disk: its hooks directory (mode 0755) and configuration file.
private struct HookFolder {
    let hooks: String
    let config: String
    let data: String

    /// Creates the folders, writes `scripts` (name → shell body) as executables and the
    /// configuration with `extra` keys.
    static func make(_ harness: Harness, name: String, volume: String, scripts: [String: String], extra: String = "") throws -> HookFolder {
        let base = try harness.folder("hooksets/\(name)")
        let hooks = base + "/hooks"
        try FileManager.default.createDirectory(atPath: hooks, withIntermediateDirectories: true)
        for directory in [harness.bus.directory + "/hooksets", base, hooks] { chmod(directory, 0o755) }
        for (script, body) in scripts {
            try Harness.writeExecutable(hooks + "/" + script, "#!/bin/sh\n" + body + "\n")
        }
        let data = volume + "/" + name
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let config = base + "/set.json"
        try """
            {"name": "\(name)", "hooks": "\(hooks)", \(extra) "components": [{"name": "data", "files": [{"path": "\(data)", "recursive": true}]}]}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return HookFolder(hooks: hooks, config: config, data: data)
    }

    @discardableResult
    func start(_ harness: Harness, _ name: String, environment: [String: String] = [:]) async throws -> ChildProcess {
        try await harness.start(name, "quiesce-hook-writer", ["--config", config], environment: environment, waitFor: BusNames.writerBusName(name))
    }
}

/// The hook runs the writer logged (one line per line of hook output), in order:
/// ("10-a.sh", "freeze"), ... (lines of one run counted once).
private func hookRuns(_ process: ChildProcess) -> [(String, String)] {
    var runs: [(String, String)] = []
    for line in process.output.split(separator: "\n") {
        guard let range = line.range(of: "] hook ") else { continue }
        let words = line[range.upperBound...].split(separator: " ")
        guard words.count >= 2, words[1].hasSuffix(":") else { continue }
        let run = (String(words[0]), String(words[1].dropLast()))
        if runs.last.map({ $0 == run }) != true { runs.append(run) }
    }
    return runs
}

@Suite("quiesce-hook-writer: hook scripts take part as a writer", .serialized)
struct HookWriterTests {
    @Test("A qemu-ga style hook runs unchanged: the SQLite database is write-locked exactly between freeze and thaw")
    func qemuStyleHook() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let set = try HookFolder.make(harness, name: "app", volume: volume, scripts: [:])
            let script = try String(contentsOfFile: PrivateBus.repository + "/Examples/Hooks/sqlite-lock", encoding: .utf8)
            try Harness.writeExecutable(set.hooks + "/50-sqlite-lock", script)
            let database = set.data + "/app.db"
            _ = try await harness.run("/usr/bin/sqlite3", [database, "CREATE TABLE notes(text); INSERT INTO notes VALUES ('before');"])
            let writer = try await set.start(harness, "app", environment: ["SQLITE_DATABASE": database, "SQLITE_FIFO": harness.bus.directory + "/lock.fifo"])
            // A second writer that hangs in Freeze holds the set while we look at the lock.
            try await harness.startFlakyWriter("later", volume: volume, ["--level", "system", "--at", "Freeze", "--mode", "slow", "--delay-ms", "1500"])
            let backup = Task { try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--require", "app"]) }
            // The backup reaches Freeze after starting quiescectl and gathering metadata, which
            // took over 10 s once on a CI machine running every suite at once.
            try await Harness.waitUntil("the hook holds the lock", timeout: .seconds(40)) { writer.output.contains("holding a write lock on \(database)") }
            let refused = try await harness.run("/usr/bin/sqlite3", ["-cmd", ".timeout 0", database, "INSERT INTO notes VALUES ('while frozen');"])
            #expect(refused.status != 0 && refused.stderr.contains("locked"), "a write while frozen must wait: \(refused.stderr)")
            let result = try await backup.value
            #expect(result.status == 0, "\(result.stderr)")
            #expect(writer.output.contains("released the write lock on \(database)"))
            let after = try await harness.run("/usr/bin/sqlite3", [database, "INSERT INTO notes VALUES ('after'); SELECT count(*) FROM notes;"])
            #expect(after.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "\(after.stderr)")
            #expect(hookRuns(writer).map(\.1) == ["freeze", "thaw"], "only freeze and thaw by default: the script exits 1 on anything else")
        }
    }

    @Test("Hooks run in name order, thaw in reverse for those that froze; exit status and last line are the veto")
    func orderAndExitStatus() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let set = try HookFolder.make(harness, name: "app", volume: volume, scripts: [
                "10-first.sh": "echo \"first $1\"",
                "20-second.sh": "echo \"second $1\"",
                "30-busy.sh": "echo \"third $1\"; [ \"$1\" = freeze ] && { echo 'the queue is draining'; exit 75; }; exit 0",
                "40-never.sh": "echo \"never $1\"",
                "README.sample": "exit 1",
            ], extra: #""events": ["freeze", "thaw", "prepare-for-snapshot"],"#)
            let writer = try await set.start(harness, "app")
            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--json"])
            #expect(backup.status == 3, "\(backup.stderr)")
            let status = try #require(try JSONLines.backupDocument(backup.stdout).writers.first?.status)
            #expect(status.state == .failedAtFreeze)
            #expect(status.failure == .retryable)
            #expect(status.message == "30-busy.sh freeze exited with 75: the queue is draining")
            #expect(hookRuns(writer).map { "\($0.0) \($0.1)" } == [
                "10-first.sh prepare-for-snapshot", "20-second.sh prepare-for-snapshot", "30-busy.sh prepare-for-snapshot", "40-never.sh prepare-for-snapshot",
                "10-first.sh freeze", "20-second.sh freeze", "30-busy.sh freeze",
                "20-second.sh thaw", "10-first.sh thaw",
            ], "the failing hook and those after it get no thaw; README.sample never runs")
        }
    }

    @Test("A hook past its timeout is stopped and the event fails with timeout; an unsafe hook stops the writer from starting")
    func timeoutAndSafety() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let set = try HookFolder.make(harness, name: "slow", volume: volume, scripts: [
                "10-slow.sh": "[ \"$1\" = freeze ] && exec sleep 29.25; exit 0",
            ], extra: #""hook-timeout-ms": 500,"#)
            try await set.start(harness, "slow")
            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--json"])
            #expect(backup.status == 3, "\(backup.stderr)")
            let status = try #require(try JSONLines.backupDocument(backup.stdout).writers.first?.status)
            #expect(status.failure == .timeout)
            #expect(status.message == "10-slow.sh freeze ran past its timeout of 0.5 seconds and was stopped")
            let left = try await harness.run("/usr/bin/pgrep", ["-f", "sleep 29.25"])
            #expect(left.status != 0, "the hook was killed: \(left.stdout)")

            let unsafe = try HookFolder.make(harness, name: "unsafe", volume: volume, scripts: ["10-open.sh": "exit 0"])
            chmod(unsafe.hooks + "/10-open.sh", 0o777)  // group and others may write it
            let refused = try await harness.run(Harness.binDirectory + "/quiesce-hook-writer", ["--address", harness.bus.address, "--config", unsafe.config])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("refusing \(unsafe.hooks)/10-open.sh: group or others may change it"), "\(refused.stderr)")

            // The templated unit passes its instance name: a set named otherwise is refused at once.
            let misnamed = try await harness.run(Harness.binDirectory + "/quiesce-hook-writer", ["--address", harness.bus.address, "--config", set.config, "--name", "app"])
            #expect(misnamed.status != 0)
            #expect(misnamed.stderr.contains("the hook set \(set.config) is writer slow, not app"), "\(misnamed.stderr)")
        }
    }

    @Test("Frozen when quiesced is killed, the hook writer runs its thaw hooks at once")
    func thawsWhenQuiescedDies() async throws {
        try await Harness.with { harness in
            let coordinator = try await harness.startCoordinator(["--timeout", "freeze=30"])
            let volume = try harness.folder("volume")
            let set = try HookFolder.make(harness, name: "app", volume: volume, scripts: ["10-app.sh": "echo \"app $1\""], extra: #""application-level": "front-end","#)
            let writer = try await set.start(harness, "app")
            try await harness.startFlakyWriter("stuck", volume: volume, ["--at", "Freeze", "--mode", "hang"])
            let backup = Task { try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup"]) }
            try await Harness.waitUntil("the hooks froze") { hookRuns(writer).last?.1 == "freeze" }
            coordinator.signal(SIGKILL)
            let took = try await Harness.waitUntil("the thaw hook ran", timeout: .seconds(5)) { hookRuns(writer).last?.1 == "thaw" }
            #expect(took < .seconds(3))
            _ = try? await backup.value
        }
    }
}
