import Foundation
import Quiesce
import QuiesceBus
import QuiesceProtocol
import QuiesceRequester
import QuiesceTestSupport
import Synchronization
import Testing

@Suite("Progress: on a terminal, in a log, as JSON lines, and on the Progress signal", .serialized)
struct ProgressTests {
    @Test("backup --json streams steps, writer failures, copy progress, each writer's result and the result; the steps are the Progress signals")
    func jsonLinesAndSignal() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("good", volume: volume)
            try await harness.startFlakyWriter("vetoing", volume: volume, ["--at", "Freeze", "--code", "retryable", "--message", "try later"])
            try Data(repeating: 7, count: 3 << 20).write(to: URL(fileURLWithPath: volume + "/good/big.bin"))

            // Another connection watches the sessions' Progress signals, as any monitor can.
            let signals = Mutex<[(phase: String, details: Session1.ProgressDetails)]>([])
            let subscription = try await harness.connection.subscribe(sender: BusNames.coordinator, interface: Session1.name, member: Session1.Signal.progress.rawValue) { signal in
                guard signal.arguments.count == 3, let phase = signal.arguments[0].stringValue, let details = try? Session1.ProgressDetails(busValue: signal.arguments[2]) else { return }
                signals.withLock { $0.append((phase, details)) }
            }
            defer { subscription.cancel() }

            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--json"])
            #expect(backup.status == 3, "\(backup.stderr)")
            #expect(backup.stderr.isEmpty, "with --json everything is on standard output: \(backup.stderr)")
            let lines = try JSONLines(backup.stdout)

            let steps = lines.of("step")
            let freeze = try #require(steps.first { $0["phase"] as? String == "freeze" && $0["writers"] != nil })
            #expect(freeze["writers"] as? Int == 2 && freeze["failed"] as? Int == 1 && (freeze["elapsed-us"] as? Int ?? 0) > 0, "\(freeze)")
            let veto = try #require(steps.first { $0["writer"] as? String == "vetoing" })
            #expect(veto["event"] as? String == "Freeze" && veto["failure"] as? String == "retryable", "\(veto)")

            let copies = lines.of("copy")
            let done = try #require(copies.last)
            #expect(done["finished"] as? Bool == true && done["volume"] as? String == volume)
            #expect(done["bytes"] as? Int == done["total-bytes"] as? Int && (done["bytes"] as? Int ?? 0) >= 3 << 20, "\(done)")
            #expect(done["files"] as? Int == done["total-files"] as? Int)
            #expect(copies.first?["finished"] as? Bool == false && copies.first?["bytes"] as? Int == 0)

            #expect(Set(lines.of("writer").compactMap { $0["writer"] as? String }) == ["good", "vetoing"])
            #expect(lines.of("writer").first { $0["writer"] as? String == "vetoing" }?["failure"] as? String == "retryable")
            let result = try #require(lines.objects.last)
            #expect(result["type"] as? String == "result" && result["outcome"] as? String == "partial" && result["exit-status"] as? Int == 3)
            #expect(try JSONLines.backupDocument(backup.stdout).outcome == .partial)

            // Every step quiesced streamed is a Progress signal another listener saw, with the same details.
            let seen = signals.withLock { $0 }
            let streamed = steps.map { ($0["phase"] as? String ?? "", $0["writer"] as? String, $0["writers"] as? Int) }
            let signalled = seen.map { ($0.phase, $0.details.writer, $0.details.writers.map(Int.init)) }
            #expect(streamed.count == signalled.count, "\(streamed)\n\(signalled)")
            for (line, signal) in zip(streamed, signalled) { #expect(line == signal) }
        }
    }

    @Test("Off a terminal: a line per step and one per copied volume; on a terminal: a status line redrawn in place, with totals")
    func terminalAndLog() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("good", volume: volume)
            try Data(repeating: 1, count: 2 << 20).write(to: URL(fileURLWithPath: volume + "/good/big.bin"))

            let logged = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/one"])
            #expect(logged.status == 0, "\(logged.stderr)")
            #expect(!logged.stderr.contains("\r"))
            #expect(logged.stderr.contains("[freeze] Freeze 1 back-end writer(s)") && logged.stderr.contains("[freeze] Freeze: 1 writer(s) in "), "\(logged.stderr)")
            let copied = logged.stderr.split(separator: "\n").filter { $0.hasPrefix("copied \(volume):") }
            #expect(copied.count == 1 && copied[0].contains("2.0 MiB of 2.0 MiB") && copied[0].contains("MiB/s"), "\(logged.stderr)")
            #expect(!logged.stderr.contains("copying \(volume):"), "no progress lines in a log")

            // `script` gives quiescectl a terminal.
            let command = [Harness.binDirectory + "/quiescectl", "backup", "--address", harness.bus.address, "--volume", volume, "--to", harness.bus.directory + "/two"]
                .map { "'\($0)'" }.joined(separator: " ")
            let terminal = try await harness.run("/usr/bin/script", ["-qec", command, "/dev/null"])
            #expect(terminal.status == 0, "\(terminal.stdout)")
            #expect(terminal.stdout.contains("\r\u{1B}[Kcopying \(volume): 0.0 MiB of 2.0 MiB, 0 of "), "\(terminal.stdout.debugDescription)")
            #expect(terminal.stdout.contains("\r\u{1B}[Kcopied \(volume): 2.0 MiB of 2.0 MiB"), "\(terminal.stdout.debugDescription)")
        }
    }

    @Test("A copy's rate and time left are what its bytes and time say")
    func copyStatusArithmetic() {
        let half = CopyStatus(volume: "/srv/notes", bytes: 100 << 20, files: 10, totalBytes: 400 << 20, totalFiles: 40, elapsed: .seconds(2))
        #expect(half.bytesPerSecond == Double(50 << 20))
        #expect(half.secondsLeft == 6)
        #expect(half.description == "copying /srv/notes: 100.0 MiB of 400.0 MiB, 10 of 40 files, 50.0 MiB/s, 6 s left")
        let unknown = CopyStatus(volume: "/srv", bytes: 0, files: 0, elapsed: .zero)
        #expect(unknown.secondsLeft == nil && unknown.bytesPerSecond == 0)
        let done = CopyStatus(volume: "/srv", bytes: 3 << 20, files: 3, totalBytes: 3 << 20, totalFiles: 3, elapsed: .milliseconds(1500), finished: true)
        #expect(done.description == "copied /srv: 3.0 MiB of 3.0 MiB, 3 of 3 files in 1.5 s (2.0 MiB/s)")
    }
}
