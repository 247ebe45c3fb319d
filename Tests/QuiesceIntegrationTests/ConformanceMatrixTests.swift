import Foundation
import Quiesce
import QuiesceBus
import QuiesceRequester
import QuiesceTestSupport
import Testing

/// Which writer shows a behaviour: the Swift SDK's flaky-writer, the C writer on libdbus-1, or
/// quiesce-hook-writer running a shell hook.
private enum WriterKind: String, Sendable {
    case swift, c, hook
}

/// One way a writer behaves in a handler, and the options that produce it.
private struct Behaviour: Sendable, CustomStringConvertible {
    var name: String
    var kind: WriterKind = .swift
    var arguments: [String] = []
    var code: FailureCode?
    /// For the hook writer: the exit status its hook returns at the row's event (`nil`: it
    /// sleeps past its timeout).
    var exitStatus: Int32? = 0

    var description: String { name }

    static let all: [Behaviour] =
        [Behaviour(name: "success")]
        + FailureCode.allCases.filter { ![.notResponding, .statusNotAvailable].contains($0) }.map {
            Behaviour(name: "veto " + $0.rawValue, arguments: ["--mode", "veto", "--code", $0.rawValue], code: $0)
        }
        + ["false", "throw", "hang", "crash"].map { Behaviour(name: "return " + $0, arguments: ["--mode", $0]) }
        // The C writer vetoes with any code; the hook writer maps exit statuses and timeouts.
        + [Behaviour(name: "C success", kind: .c), Behaviour(name: "C veto retryable", kind: .c, code: .retryable)]
        + [Behaviour(name: "hook exit 0", kind: .hook)]
        + [(75, FailureCode.retryable), (73, .outOfResources), (65, .inconsistentSnapshot), (69, .nonRetryable)].map {
            Behaviour(name: "hook exit \($0.0)", kind: .hook, code: $0.1, exitStatus: $0.0)
        }
        + [Behaviour(name: "hook timeout", kind: .hook, code: .timeout, exitStatus: nil)]

    /// A writer name for the behaviour.
    var writerName: String { "w_" + name.replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_") }

    /// Whether it is a success.
    var succeeds: Bool { ["success", "C success", "hook exit 0"].contains(name) }

    /// The message the requester sees for a veto at `event`.
    func vetoMessage(_ event: WriterEvent) -> String {
        let argument = event.kebabCaseName
        switch kind {
        case .swift: return "flaky-writer vetoed on purpose"
        case .c: return "the C writer vetoed on purpose"
        case .hook:
            guard let exitStatus else { return "10-hook.sh \(argument) ran past its timeout of 1.5 seconds and was stopped" }
            return "10-hook.sh \(argument) exited with \(exitStatus): the hook vetoed on purpose"
        }
    }

    /// Starts the writer, misbehaving at `event`.
    func start(_ harness: Harness, at event: WriterEvent, volume: String) async throws -> ChildProcess {
        let data = volume + "/" + writerName
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        switch kind {
        case .swift:
            return try await harness.startFlakyWriter(writerName, volume: volume, succeeds ? [] : ["--at", event.methodName] + arguments)
        case .c:
            let veto = succeeds ? [] : ["--veto", "\(event.methodName):\(code!.rawValue):the C writer vetoed on purpose"]
            return try await harness.start(writerName, "quiesce-c-writer", ["--name", writerName, "--data", data] + veto, waitFor: BusNames.writerBusName(writerName))
        case .hook:
            let base = try harness.folder("hooks/\(writerName)")
            for directory in [harness.bus.directory + "/hooks", base] { chmod(directory, 0o755) }
            let misbehave = exitStatus.map { "echo 'the hook vetoed on purpose'; exit \($0)" } ?? "exec sleep 5"
            let script = "#!/bin/sh\necho \"ran $1\"\n[ \"$1\" = \(event.kebabCaseName) ] && { \(misbehave); }\nexit 0\n"
            try Harness.writeExecutable(base + "/10-hook.sh", script)
            let events = WriterEvent.allCases.filter { $0 != .identify }.map { "\"\($0.kebabCaseName)\"" }.joined(separator: ", ")
            try """
                {"name": "\(writerName)", "hooks": "\(base)", "hook-timeout-ms": 1500, "events": [\(events)],
                 "components": [{"name": "data", "files": [{"path": "\(data)", "recursive": true}]}]}
                """.write(toFile: base + ".json", atomically: true, encoding: .utf8)
            return try await harness.start(writerName, "quiesce-hook-writer", ["--config", base + ".json"], waitFor: BusNames.writerBusName(writerName))
        }
    }

    /// Whether the writer's log shows that it received Abort.
    func receivedAbort(_ process: ChildProcess) -> Bool {
        switch kind {
        case .swift: events(of: process).contains("Abort")
        case .c: process.output.contains("{\"event\": \"Abort\"")
        case .hook: process.output.contains(": ran abort")
        }
    }
}

/// One cell of the matrix: what the requester sees.
private struct Cell {
    var event: WriterEvent
    var behaviour: Behaviour
    var status: WriterStatus
    var abortDelivered: Bool
    var decision: RetryDecision?
}

@Suite("Conformance matrix: every event × every writer behaviour, real processes", .serialized)
struct ConformanceMatrixTests {
    static let rowEvents: [WriterEvent] = [
        .prepareForBackup, .prepareForSnapshot, .freeze, .thaw, .postSnapshot, .abort, .backupComplete, .backupShutdown, .preRestore, .postRestore,
    ]

    @Test("State, code, message, Abort and retry decision for each event and behaviour", arguments: rowEvents)
    func row(event: WriterEvent) async throws {
        let cells = try await Harness.with { harness in try await Self.runRow(event, harness) }
        for cell in cells { check(cell) }
        if let output = ProcessInfo.processInfo.environment["QUIESCE_CONFORMANCE_OUT"] {
            let lines = cells.map { cell in
                let decision = cell.decision.map { "\($0.action.summary): \($0.reason)" } ?? "-"
                return "| \(cell.event.methodName) | \(cell.behaviour.name) | \(cell.status.state.rawValue) | \(cell.status.failure?.rawValue ?? "-") | \(cell.status.message) | \(cell.abortDelivered ? "yes" : "no") | \(decision) |"
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            handle.seekToEndOfFile()
            handle.write(Data((lines.joined(separator: "\n") + "\n").utf8))
            try handle.close()
        }
    }

    private func check(_ cell: Cell) {
        let event = cell.event
        let status = cell.status
        let context = Comment(rawValue: "\(event.methodName) × \(cell.behaviour.name): \(status)")
        switch cell.behaviour.name {
        case _ where cell.behaviour.succeeds:
            #expect(status.failure == nil, context)
            #expect(cell.decision == nil, context)
        case "return hang":
            #expect(status.failure == .notResponding, context)
            #expect(status.message == "no reply to \(event.methodName) within 3.0 seconds", context)
            #expect(cell.decision?.action == .giveUp, context)
        case "return crash":
            #expect(status.failure == .notResponding, context)
            #expect(status.message == "the writer left the bus during \(event.methodName)", context)
        case "return false":
            #expect(status.failure == .nonRetryable, context)
            #expect(status.message == "\(event.methodName) handler returned false", context)
        case "return throw":
            #expect(status.failure == .nonRetryable, context)
            #expect(status.message.hasPrefix("\(event.methodName) handler threw"), context)
        default:
            #expect(status.failure == cell.behaviour.code, context)
            #expect(status.message == cell.behaviour.vetoMessage(event), context)
        }
        if !cell.behaviour.succeeds {
            // The state names the event that failed (an Abort failure has no state of its own).
            #expect(status.state == (event == .abort ? .failedAtFreeze : event.stateOnFailure), context)
            // Abort follows a failed Freeze or Thaw, never another failed event; a writer that hangs
            // or died cannot receive it; a partial failure leaves the writer in the sequence.
            let expectAbort = event == .abort
                || ([.freeze, .thaw].contains(event) && !["return hang", "return crash", "veto partial-failure"].contains(cell.behaviour.name))
            #expect(cell.abortDelivered == expectAbort, context)
        }
    }

    private static func runRow(_ event: WriterEvent, _ harness: Harness) async throws -> [Cell] {
        // The hook writers' 1.5 s hook timeout leaves a shell started on a loaded machine time to
        // run; quiesced's 3 s per event is longer, so a hung hook is answered as a timeout by its
        // writer before quiesced gives up on the writer.
        let timeouts = WriterEvent.allCases.filter { $0 != .identify }.flatMap { ["--timeout", "\($0.methodName)=3"] }
        try await harness.startCoordinator(timeouts)
        let volume = try harness.folder("volume")
        let processes = try await withThrowingTaskGroup(of: (String, ChildProcess).self) { group in
            for behaviour in Behaviour.all {
                group.addTask { (behaviour.writerName, try await behaviour.start(harness, at: event, volume: volume)) }
            }
            if event == .abort {
                // A required writer that vetoes Thaw makes the coordinator abort every writer.
                group.addTask { ("trigger", try await harness.startFlakyWriter("trigger", volume: volume, ["--at", "Thaw", "--code", "retryable"])) }
            }
            var processes: [String: ChildProcess] = [:]
            for try await (name, process) in group { processes[name] = process }
            return processes
        }

        let client = QuiesceClient(connection: harness.connection)
        var statuses: [WriterStatus]
        if event == .preRestore || event == .postRestore {
            let destination = harness.bus.directory + "/backup"
            _ = try await BackupJob(volumes: [volume], destination: destination).run(with: client) { _ in }
            let document = try JSONCoding.decode(BackupDocument.self, from: String(contentsOfFile: destination + "/backup.json", encoding: .utf8))
            let session = try await client.createSession()
            _ = try await session.gatherWriterMetadata()
            try await session.preRestore(document)
            try await session.postRestore(succeeded: true)
            statuses = try await session.close()
        } else {
            let session = try await client.createSession()
            _ = try await session.gatherWriterMetadata()
            if event == .abort { try await session.setWriterPolicy([("trigger", nil, .required)]) }
            try await session.addVolumes([volume])
            try await session.prepareForBackup()
            do {
                _ = try await session.doSnapshotSet()
                try await session.backupComplete(succeeded: true)
            } catch {
                #expect(event == .abort, "DoSnapshotSet failed: \(error)")
            }
            statuses = try await session.close()
        }

        let policy = RetryPolicy(delay: .seconds(10))
        return Behaviour.all.map { behaviour in
            let status = statuses.first { $0.name == behaviour.writerName }!
            let process = processes[behaviour.writerName]!
            let abortDelivered = behaviour.receivedAbort(process)
            let decision = status.hasFailed
                ? policy.decide(status, metadata: nil, volumes: [volume], attempt: 1, retryableFailures: status.failure == .retryable ? 1 : 0, restarted: false)
                : nil
            return Cell(event: event, behaviour: behaviour, status: status, abortDelivered: abortDelivered, decision: decision)
        }
    }
}

extension RetryAction {
    /// A word for the matrix.
    var summary: String {
        switch self {
        case .retry(let after): "retry after \(after)"
        case .addVolumes(let volumes): "add \(volumes.count) volume(s)"
        case .restartWriter: "restart the writer"
        case .giveUp: "give up"
        }
    }
}
