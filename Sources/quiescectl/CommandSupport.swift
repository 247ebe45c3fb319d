import ArgumentParser
import Foundation
import QuiesceCommandLine
import QuiesceRequester

// What every quiescectl command shares: connecting, turning errors into messages, paths.

/// A failure of a command, printed as `Error: <message>` (with no usage line) and exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Connects to the coordinator's bus, turning failure into a message that says what to check.
func connect(_ options: BusOptions) async throws -> QuiesceClient {
    do {
        return try await QuiesceClient.connect(to: options.bus)
    } catch {
        throw CommandFailure("cannot connect to \(options.bus): \(error)")
    }
}

/// Runs `body`, explaining the usual reason a call fails: quiesced is not running on that bus.
func explained<T>(_ options: BusOptions, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as QuiesceError {
        throw CommandFailure(explanation(error, options))
    }
}

/// A Quiesce error in words for the command line: the message, with the error's name unless it
/// is a failure of our own, and what to check when quiesced is not running.
func explanation(_ error: QuiesceError, _ options: BusOptions) -> String {
    switch error.code {
    case .peerGone: "quiesced is not running on \(options.bus) (\(error.message)); start it, or choose the bus with --system, --user or --address"
    case .failed: error.message
    default: "\(error.message) (\(error.code.rawValue))"
    }
}

/// `path` made absolute against the current directory.
func absolutePath(_ path: String) -> String {
    URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL.path
}
