import ArgumentParser
import Foundation
import Quiesce
import QuiesceCommandLine
import QuiesceRequester

/// `quiescectl restore`: puts a backup back, with its writers' cooperation.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup made by quiescectl backup, onto its volumes or elsewhere.",
        discussion: """
            Sends PreRestore to the backup's writers that are on the bus (each gets the metadata \
            it stored), then restores each volume as a transaction: the backup's copy is staged \
            beside the volume, never following a symlink, and swapped into place with renames, \
            so the volume becomes exactly what was backed up. What it replaces is kept until the \
            writers accept PostRestore (and after, with --keep-replaced). A restore that is \
            killed leaves each volume as it was or as restored; the next restore (or quiesced \
            at start) finishes or rolls back what was interrupted. PostRestore tells the writers \
            whether the files went back, so they reopen what they closed either way.

            Restoring over live data asks for confirmation on a terminal; without one, pass \
            --yes. --dry-run lists what would change and changes nothing.

            Exit status: 0 restored; 1 not restored (nothing changed); 3 restored, but a writer \
            failed PostRestore (what was replaced is kept).
            """
    )

    @OptionGroup var busOptions: BusOptions

    @Option(name: .customLong("from"), help: ArgumentHelp("The folder quiescectl backup wrote.", valueName: "dir"))
    var source: String

    @Option(name: .customLong("to"), help: ArgumentHelp("Restore below this directory instead of over the volumes (each volume at its own path below it); writers are told the alternate location.", valueName: "dir"))
    var alternateLocation: String?

    @Option(name: .customLong("component"), help: ArgumentHelp("Restore only this component's files (repeatable), e.g. notes/sqlite/notes.", valueName: "writer/component"))
    var components: [String] = []

    @Flag(help: "Show what would change, and change nothing.")
    var dryRun = false

    @Flag(name: [.customShort("y"), .long], help: "Do not ask before replacing live data.")
    var yes = false

    @Flag(help: "Keep what the restore replaced, even when it succeeds (its path is printed).")
    var keepReplaced = false

    @Option(help: ArgumentHelp("Where the restore journal lives (default: /var/lib/quiesce as root, else ~/.local/state/quiesce).", valueName: "dir"))
    var stateDir: String?

    @Flag(help: "Print the writers' status as JSON.")
    var json = false

    func validate() throws {
        for component in components where !component.contains("/") || component.hasPrefix("/") || component.hasSuffix("/") {
            throw ValidationError("--component must look like writer/component, e.g. notes/sqlite/notes (not \(component))")
        }
    }

    func run() async throws {
        let pairs = components.map { value in
            let slash = value.firstIndex(of: "/")!
            return (writer: String(value[..<slash]), component: String(value[value.index(after: slash)...]))
        }
        let plan: RestorePlan
        do {
            plan = try RestorePlan(source: absolutePath(source), components: pairs, alternateLocation: alternateLocation.map(absolutePath))
        } catch {
            FileHandle.standardError.write(Data("quiescectl: restore failed: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if dryRun {
            try await printChanges(plan)
            return
        }
        if plan.replacesLiveData, !yes, try !confirm(plan) { throw ExitCode(1) }

        let job = RestoreJob(plan: plan, keepReplaced: keepReplaced, stateDirectory: stateDir.map(absolutePath) ?? Self.defaultStateDirectory)
        let client = try await connect(busOptions)
        let printer = ProgressPrinter(json: json)
        let outcome: RestoreJob.Outcome
        do {
            outcome = try await job.run(with: client, report: printer.show)
        } catch {
            printer.finish(.result("failed", exitStatus: 1, message: "\(error)"))
            FileHandle.standardError.write(Data("quiescectl: restore failed: \(error)\n".utf8))
            throw ExitCode(1)
        }
        // The writers that took part: their last event is BackupShutdown, which ends every session.
        let involved = outcome.statuses.filter { $0.eventMilliseconds[WriterEvent.preRestore.methodName] != nil }
        let status: Int32 = involved.contains(where: \.hasFailed) ? 3 : 0
        let summary = "restore done from \(plan.source)" + (plan.alternateLocation.map { " to \($0)" } ?? "")
        var result = ProgressLine.result(status == 0 ? "succeeded" : "partial", exitStatus: status, message: summary)
        result.writerStatus = involved
        printer.finish(result)
        if !json {
            print(statusTable(involved))
            print(summary)
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// Where restore journals go by default.
    static var defaultStateDirectory: String {
        if getuid() == 0 { return "/var/lib/quiesce" }
        let environment = ProcessInfo.processInfo.environment
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") { return state + "/quiesce" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.local/state/quiesce"
    }

    private func printChanges(_ plan: RestorePlan) async throws {
        print("dry run: nothing is changed")
        var total = 0
        for (volume, changes) in try await plan.changes() {
            let scope = volume.entries == nil ? "the whole volume" : "the selected components"
            print("\(volume.target) from \(plan.source)/\(volume.dataPath) (\(scope)): \(changes.count) change(s)")
            for change in changes { print("  \(change)") }
            total += changes.count
        }
        print("\(total) change(s) in \(plan.volumes.count) volume(s)")
    }

    /// Asks on the terminal; refuses without one.
    private func confirm(_ plan: RestorePlan) throws -> Bool {
        let targets = plan.volumes.map(\.target).joined(separator: ", ")
        guard isatty(STDIN_FILENO) == 1 else {
            FileHandle.standardError.write(Data("""
                quiescectl: restore would replace live data in \(targets); run it on a terminal to confirm, \
                or pass --yes (--dry-run shows what would change)

                """.utf8))
            return false
        }
        FileHandle.standardError.write(Data("Replace the live data in \(targets) with the backup in \(plan.source)? What is there now is kept until the restore succeeds. [y/N] ".utf8))
        let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        guard answer == "y" || answer == "yes" else {
            FileHandle.standardError.write(Data("restore cancelled; nothing was changed\n".utf8))
            return false
        }
        return true
    }
}
