import ArgumentParser
import Foundation
import Quiesce
import QuiesceCommandLine
import QuiesceRequester

/// `quiescectl history`: the sessions quiesced ran, newest first, or one in full.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show the sessions quiesced ran, newest first, or one of them in full.",
        discussion: """
            quiesced keeps every closed session (backups and restores) on disk, the newest 200 by \
            default (history-limit): who ran it, how far it got, why it ended, the step that \
            failed, each writer's outcome with the event it failed and its message, each \
            component's consistency, and how long each step took. Root, quiesced's user and its \
            allowed group may read it.
            """
    )

    @OptionGroup var busOptions: BusOptions

    @Argument(help: "A session id, to show that session in full.")
    var session: String?

    @Option(name: [.short, .customLong("count")], help: "How many sessions to list (1 to 1000).")
    var count = 20

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func validate() throws {
        guard (1...1000).contains(count) else { throw ValidationError("--count must be 1 to 1000") }
    }

    func run() async throws {
        let client = try await connect(busOptions)
        if let session {
            let record = try await explained(busOptions) { try await client.history(id: session) }
            print(json ? try JSONCoding.encode(record, pretty: true) : Self.details(record))
            return
        }
        let records = try await explained(busOptions) { try await client.history(count: count) }
        if json {
            print(try JSONCoding.encode(records, pretty: true))
        } else if records.isEmpty {
            print("No sessions in the history yet.")
        } else {
            print(Table(
                header: ["SESSION", "ENDED", "KIND", "OUTCOME", "PHASE", "UID", "FAILED WRITERS"],
                rows: records.map { record in
                    [
                        record.id, DateText.local(record.ended), record.kind.rawValue, record.outcome.rawValue, record.lastPhase.rawValue,
                        String(record.ownerUid), record.failedWriters.map { "\($0.name) (\($0.failure?.rawValue ?? $0.state.rawValue))" }.joined(separator: ", "),
                    ]
                }
            ).rendered)
        }
    }

    /// One session in full: what it was, how it ended, its writers and components.
    static func details(_ record: SessionRecord) -> String {
        var lines = [
            "session \(record.id): \(record.kind.rawValue) \(record.outcome.rawValue)",
            "  started \(DateText.local(record.started)), ended \(DateText.local(record.ended)) (\(record.endedBecause)), by uid \(record.ownerUid)",
            "  reached \(record.lastPhase.rawValue)" + (record.snapshotSetId.map { ", snapshot set \($0)" } ?? ""),
        ]
        if let error = record.error { lines.append("  failed step: \(error)") }
        for volume in record.volumes { lines.append("  volume \(volume.volume): \(volume.provider ?? "no provider")") }
        let timings = record.timings.sorted { $0.key < $1.key }.map { "\($0.key) \(DateText.seconds(microseconds: $0.value))" }
        if !timings.isEmpty { lines.append("  timings: " + timings.joined(separator: ", ")) }
        lines.append("")
        lines.append(statusTable(record.writers.map(\.status)))
        let components = record.writers.flatMap { writer in writer.consistency.sorted { $0.key < $1.key }.map { [writer.status.name, $0.key, $0.value.rawValue] } }
        if !components.isEmpty {
            lines.append("")
            lines.append(Table(header: ["WRITER", "COMPONENT", "CONSISTENCY"], rows: components).rendered)
        }
        return lines.joined(separator: "\n")
    }
}
