import ArgumentParser
import QuiesceCommandLine
import QuiesceWriter

/// `quiesce-hook-writer`: one writer per hook set, running its executables for each event.
@main
struct HookWriterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiesce-hook-writer",
        abstract: "A Quiesce writer that runs a directory of hook scripts (qemu-guest-agent's fsfreeze-hook convention) for each event.",
        discussion: """
            Hooks run in name order with `freeze`, in reverse order with `thaw` (only those whose \
            freeze succeeded, also when the backup is aborted, the lease runs out or quiesced \
            leaves), and with the other events' kebab-case names (prepare-for-snapshot, \
            post-snapshot, ...) when the hook set's "events" lists them. Exit status: 0 success, \
            75 retryable, 73 out-of-resources, 65 inconsistent-snapshot, anything else \
            non-retryable; the last line of output is the message. See docs/writers/hooks.md.
            """
    )

    @OptionGroup var busOptions: BusOptions
    @OptionGroup var loggingOptions: LoggingOptions

    @Option(help: ArgumentHelp("The hook set's configuration file (JSON).", valueName: "path"))
    var config: String

    @Option(help: ArgumentHelp("The writer name the hook set must have (quiesce-hook-writer@NAME.service passes its instance name).", valueName: "name"))
    var name: String?

    func run() async throws {
        let logger = loggingOptions.bootstrap(label: "quiesce-hook-writer")
        let writer: HookWriter
        do {
            let set = try HookSet.load(config)
            if let name, set.name != name {
                throw HookError("the hook set \(config) is writer \(set.name), not \(name): its \"name\" and the unit's instance name must be the same")
            }
            writer = try HookWriter(set: set, logger: logger)
        } catch {
            throw ValidationError("\(error)")
        }
        try await WriterService(writer: writer, bus: busOptions.bus, logger: logger).runUntilTerminated()
    }
}
