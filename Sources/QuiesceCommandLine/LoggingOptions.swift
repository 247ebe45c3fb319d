import ArgumentParser
import Logging

/// `--log-level`: how much the program writes to standard error (never to a file, so nothing
/// on the freeze path writes to a filesystem that may be frozen).
public struct LoggingOptions: ParsableArguments, Sendable {
    @Option(help: ArgumentHelp("trace, debug, info, notice, warning, error or critical.", valueName: "level"))
    var logLevel: String = "info"

    /// Creates the default: info.
    public init() {}

    public func validate() throws {
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("unknown log level \(logLevel)")
        }
    }

    /// Sends logs to standard error at the chosen level; returns a logger labelled `label`.
    public func bootstrap(label: String) -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}
