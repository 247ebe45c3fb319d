import ArgumentParser
import Foundation
import Quiesce
import QuiesceBus
import QuiesceCommandLine
import QuiesceRequester

/// `quiescectl status`: the open sessions, or the writer status of one.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the open sessions, or the writer status of one session.",
        discussion: "SESSION is a session id or object path, as `quiescectl status` lists them."
    )

    @OptionGroup var busOptions: BusOptions

    @Argument(help: "The session to show.")
    var session: String?

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() async throws {
        let client = try await connect(busOptions)
        guard let session else {
            let sessions = try await explained(busOptions) { try await client.listSessions() }
            if json {
                print(try JSONCoding.encode(sessions, pretty: true))
            } else if sessions.isEmpty {
                print("No open sessions.")
            } else {
                print(Table(header: ["SESSION", "PHASE", "OWNER", "SNAPSHOT SET"], rows: sessions.map { [$0.id, $0.phase?.rawValue ?? "unknown", $0.owner, $0.snapshotSetId] }).rendered)
            }
            return
        }
        let path = session.hasPrefix("/") ? session : BusNames.sessionPathPrefix + session
        let statuses: [WriterStatus]
        statuses = try await explained(busOptions) {
            do {
                return try await client.session(at: path).writerStatus()
            } catch let error as QuiesceError where error.code != .peerGone {
                throw CommandFailure("cannot read session \(session): \(error.message)")
            }
        }
        print(json ? try JSONCoding.encode(statuses, pretty: true) : statusTable(statuses))
    }
}

/// Writer status as a table: what VSS's GetWriterStatus shows, plus timings and component notes.
func statusTable(_ statuses: [WriterStatus]) -> String {
    Table(
        header: ["WRITER", "STATE", "FAILURE", "LAST EVENT", "TIME (ms)", "MESSAGE"],
        rows: statuses.map { status in
            let notes = status.components.flatMap { component in
                component.failureMessages.sorted { $0.key < $1.key }.map { "\(component.fullPath): \($0.value)" }
                    + (component.failure.map { ["\(component.fullPath): \($0.code.rawValue) \($0.message)"] } ?? [])
            }
            return [
                status.name, status.state.rawValue, status.failure?.rawValue ?? "-", status.lastEvent?.methodName ?? "-",
                String(format: "%.1f", status.eventMilliseconds.values.reduce(0, +)),
                ([status.message] + notes).filter { !$0.isEmpty }.joined(separator: "; "),
            ]
        }
    ).rendered
}
