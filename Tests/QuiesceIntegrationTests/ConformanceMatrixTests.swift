import Foundation
import Quiesce
import QuiesceRequester
import QuiesceTestSupport
import Testing

/// One way a writer behaves in a handler, and the flaky-writer options that produce it.
private struct Behaviour: Sendable, CustomStringConvertible {
    var name: String
    var arguments: [String]
    var code: FailureCode?

    var description: String { name }

    static let all: [Behaviour] =
        [Behaviour(name: "success", arguments: [], code: nil)]
        + FailureCode.allCases.filter { ![.notResponding, .statusNotAvailable].contains($0) }.map {
            Behaviour(name: "veto " + $0.rawValue, arguments: ["--mode", "veto", "--code", $0.rawValue], code: $0)
        }
        + ["false", "throw", "hang", "crash"].map { Behaviour(name: "return " + $0, arguments: ["--mode", $0], code: nil) }

    /// A writer name for the behaviour.
    var writerName: String { "w_" + name.replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_") }
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
        case "success":
            #expect(status.failure == nil, context)
            #expect(cell.decision == nil, context)
        case "return hang":
            #expect(status.failure == .notResponding, context)
            #expect(status.message == "no reply to \(event.methodName) within 1.0 seconds", context)
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
            #expect(status.message == "flaky-writer vetoed on purpose", context)
        }
        if cell.behaviour.name != "success" {
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
        let timeouts = WriterEvent.allCases.filter { $0 != .identify }.flatMap { ["--timeout", "\($0.methodName)=1"] }
        try await harness.startCoordinator(timeouts)
        let volume = try harness.folder("volume")
        let processes = try await withThrowingTaskGroup(of: (String, ChildProcess).self) { group in
            for behaviour in Behaviour.all {
                group.addTask {
                    let misbehaviour = behaviour.name == "success" ? [] : ["--at", event.methodName] + behaviour.arguments
                    return (behaviour.writerName, try await harness.startFlakyWriter(behaviour.writerName, volume: volume, misbehaviour))
                }
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
            let abortDelivered = events(of: process).contains("Abort")
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
