import Foundation
import Logging
import QuiesceFiles
import QuiesceWriter
import Subprocess
import SystemPackage

/// Finds a hook set's executables and runs one with its argument, a timeout and its output
/// in memory (logged to standard error; its last line is the message).
struct HookRunner: Sendable {
    let directory: String
    let timeout: Duration
    let logger: Logger

    /// What one hook did.
    struct Outcome: Sendable {
        var hook: String
        /// `nil`: it succeeded.
        var failure: FailureCode?
        /// The last line it printed, or what happened to it.
        var message: String
    }

    /// The hooks, in name order: executable regular files, skipping what qemu-guest-agent skips
    /// (hidden files, editor and package-manager leftovers, `*.sample`). A hook or a directory
    /// that anyone but root or this user could change is refused: it would run with our rights.
    func hooks() throws -> [String] {
        try Self.checkOwnership(directory)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw HookError("cannot list the hooks in \(directory): \(error.localizedDescription)")
        }
        let ignored = ["~", ".bak", ".orig", ".rpmnew", ".rpmorig", ".rpmsave", ".sample", ".dpkg-old", ".dpkg-new", ".dpkg-tmp", ".dpkg-dist", ".dpkg-bak", ".dpkg-backup", ".dpkg-remove"]
        return try names.filter { name in !name.hasPrefix(".") && !ignored.contains { name.hasSuffix($0) } }.sorted().compactMap { name in
            let path = directory + "/" + name
            var status = stat()
            guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_mode & 0o111 != 0 else { return nil }
            try Self.checkOwnership(path)
            return path
        }
    }

    private static func checkOwnership(_ path: String) throws {
        var status = stat()
        guard lstat(path, &status) == 0 else { throw HookError("cannot use \(path): \(String(cString: strerror(errno)))") }
        guard status.st_uid == 0 || status.st_uid == getuid() else {
            throw HookError("refusing \(path): it belongs to uid \(status.st_uid), not root or this writer's user")
        }
        guard status.st_mode & 0o022 == 0 else { throw HookError("refusing \(path): group or others may change it (mode \(String(status.st_mode & 0o7777, radix: 8)))") }
    }

    /// Runs `hook` with `argument`; past the timeout it is stopped (SIGTERM, then SIGKILL after
    /// 2 s) and the outcome is `timeout`.
    func run(_ hook: String, _ argument: String, session: String) async -> Outcome {
        let name = String(hook.split(separator: "/").last ?? "")
        let output: MemoryFile
        do { output = try MemoryFile(name: "hook-\(name)") } catch {
            return Outcome(hook: name, failure: .outOfResources, message: "\(error)")
        }
        let descriptor = output.descriptor
        let timeout = self.timeout
        enum Ending: Sendable { case exited(TerminationStatus), timedOut, failed(String) }
        let ending: Ending = await withTaskGroup(of: Ending.self) { group in
            group.addTask {
                var options = PlatformOptions()
                options.processGroupID = 0  // its own group; stopped with SIGTERM, then SIGKILL
                options.teardownSequence = [.send(signal: .terminate, allowedDurationToNextStep: .seconds(2))]
                let environment = Environment.inherit.updating(["QUIESCE_SESSION": session, "QUIESCE_HOOK_ARGUMENT": argument])
                let file = FileDescriptor(rawValue: descriptor)
                // "Text file busy" passes: a hook just written may still be open in a process
                // that was starting at that moment (it inherited the writer's descriptor).
                for attempt in 1...5 {
                    do {
                        let result = try await Subprocess.run(
                            .path(FilePath(hook)), arguments: [argument], environment: environment, platformOptions: options,
                            input: .none,
                            output: .fileDescriptor(file, closeAfterSpawningProcess: false),
                            error: .fileDescriptor(file, closeAfterSpawningProcess: false)
                        )
                        return .exited(result.terminationStatus)
                    } catch is CancellationError {
                        return .timedOut
                    } catch let error as SubprocessError where error.underlyingError == Errno.textFileBusy && attempt < 5 {
                        try? await Task.sleep(for: .milliseconds(20 * attempt))
                    } catch {
                        return Task.isCancelled ? .timedOut : .failed("\(error)")
                    }
                }
                return .failed("the hook stayed busy (open for writing)")
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .timedOut
            }
            let first = await group.next() ?? .timedOut
            group.cancelAll()
            return first
        }
        let lines = String(decoding: output.contents(), as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
        for line in lines { logger.info("hook \(name) \(argument): \(line)") }
        let lastLine = lines.last { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? ""
        switch ending {
        case .exited(.exited(let code)):
            let failure = HookEvent.failure(exitStatus: code)
            return Outcome(hook: name, failure: failure, message: failure == nil ? lastLine : "\(name) \(argument) exited with \(code)" + (lastLine.isEmpty ? "" : ": \(lastLine)"))
        case .exited(.signaled(let signal)):
            return Outcome(hook: name, failure: .nonRetryable, message: "\(name) \(argument) was killed by signal \(signal)" + (lastLine.isEmpty ? "" : ": \(lastLine)"))
        case .timedOut:
            return Outcome(hook: name, failure: .timeout, message: "\(name) \(argument) ran past its timeout of \(timeout) and was stopped")
        case .failed(let reason):
            return Outcome(hook: name, failure: .nonRetryable, message: "\(name) \(argument) could not run: \(reason)")
        }
    }
}
