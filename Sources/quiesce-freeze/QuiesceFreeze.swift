import CLinuxFiles
import Glibc

/// `quiesce-freeze`: the small helper that holds filesystems frozen (FIFREEZE) while an
/// administrator's snapshot command runs, and that supervises snapshot commands. It thaws
/// (FITHAW) and kills the command the moment the command ends, its lease runs out, quiesced
/// goes away (its standard input closes) or it gets SIGTERM or SIGINT.
///
///     quiesce-freeze [--freeze MOUNT]... --lease-ms N -- COMMAND [ARGUMENTS...]
///
/// Standard input: one line, handed to COMMAND's standard input; then it stays open for as long
/// as quiesced wants the helper to live. Standard output: COMMAND's output, after the thaw.
/// Standard error: the helper's and COMMAND's messages. Exit status: COMMAND's; 64 for a bad
/// command line; 70 when freezing failed; 71 when the lease ran out; 72 when quiesced went away
/// or a signal came. It never writes to a file.
@main
struct QuiesceFreeze {
    static func main() {
        let options: Options
        do {
            options = try Options(CommandLine.arguments.dropFirst())
        } catch {
            say("quiesce-freeze: \(error)")
            exit(64)
        }
        exit(Run(options).go())
    }

    static func say(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}

/// The command line.
struct Options {
    var mounts: [String] = []
    var lease: Int32 = 0
    var command: [String] = []

    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    init(_ arguments: ArraySlice<String>) throws {
        var rest = arguments
        while let argument = rest.popFirst() {
            switch argument {
            case "--freeze":
                guard let mount = rest.popFirst(), mount.hasPrefix("/") else { throw Problem(description: "--freeze needs an absolute mount point") }
                mounts.append(mount)
            case "--lease-ms":
                guard let value = rest.popFirst().flatMap({ Int32($0) }), value > 0 else { throw Problem(description: "--lease-ms needs a positive number") }
                lease = value
            case "--":
                command = Array(rest)
                rest = []
            default:
                throw Problem(description: "unknown argument \(argument)")
            }
        }
        guard lease > 0 else { throw Problem(description: "--lease-ms is required") }
        guard let executable = command.first, executable.hasPrefix("/") else { throw Problem(description: "the command must be given by its absolute path after --") }
    }
}

/// Set by SIGTERM and SIGINT.
nonisolated(unsafe) var stopRequested: sig_atomic_t = 0

/// One freeze-and-command run.
struct Run {
    let options: Options
    let deadline: Int64

    init(_ options: Options) {
        self.options = options
        deadline = Self.now() + Int64(options.lease)
    }

    func go() -> Int32 {
        signal(SIGTERM) { _ in stopRequested = 1 }
        signal(SIGINT) { _ in stopRequested = 1 }
        signal(SIGPIPE, SIG_IGN)
        guard let request = readRequest() else {
            QuiesceFreeze.say("quiesce-freeze: no request on standard input")
            return 72
        }
        var frozen: [Int32] = []
        if !options.mounts.isEmpty {
            _ = quiesce_lock_memory()
            for mount in options.mounts {
                let fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                guard fd >= 0, quiesce_freeze_filesystem(fd) == 0 else {
                    let reason = String(cString: strerror(errno))
                    thaw(frozen)
                    QuiesceFreeze.say("quiesce-freeze: cannot freeze \(mount): \(reason)")
                    return 70
                }
                frozen.append(fd)
            }
            QuiesceFreeze.say("quiesce-freeze: froze \(options.mounts.joined(separator: ", ")) for at most \(options.lease) ms")
        }
        let outcome = supervise(request)
        thaw(frozen)
        if !frozen.isEmpty { QuiesceFreeze.say("quiesce-freeze: thawed \(options.mounts.joined(separator: ", "))") }
        switch outcome {
        case .finished(let status, let output):
            _ = output.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            return status
        case .leaseRanOut:
            QuiesceFreeze.say("quiesce-freeze: the lease of \(options.lease) ms ran out; the command was killed")
            return 71
        case .stopped(let why):
            QuiesceFreeze.say("quiesce-freeze: \(why); the command was killed")
            return 72
        case .failed(let why):
            QuiesceFreeze.say("quiesce-freeze: \(why)")
            return 70
        }
    }

    enum Outcome {
        case finished(Int32, [UInt8])
        case leaseRanOut
        case stopped(String)
        case failed(String)
    }

    /// Runs the command in the helper's process group, feeds it the request, collects its
    /// output, and watches standard input and the lease meanwhile.
    private func supervise(_ request: [UInt8]) -> Outcome {
        var toChild: [Int32] = [0, 0]
        var fromChild: [Int32] = [0, 0]
        guard quiesce_pipe(&toChild) == 0, quiesce_pipe(&fromChild) == 0 else { return .failed("pipe: \(String(cString: strerror(errno)))") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], STDIN_FILENO)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], STDOUT_FILENO)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGPIPE)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        // Its own process group, so that whatever it starts dies with it.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))
        var argv: [UnsafeMutablePointer<CChar>?] = options.command.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, options.command[0], &actions, &attributes, &argv, environ)
        close(toChild[0])
        close(fromChild[1])
        guard spawned == 0 else {
            close(toChild[1])
            close(fromChild[0])
            return .failed("cannot run \(options.command[0]): \(String(cString: strerror(spawned)))")
        }
        _ = request.withUnsafeBytes { write(toChild[1], $0.baseAddress, $0.count) }
        close(toChild[1])

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var watched = [pollfd(fd: fromChild[0], events: Int16(POLLIN), revents: 0), pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)]
        defer { close(fromChild[0]) }
        while true {
            if stopRequested != 0 { return end(pid, .stopped("a signal asked it to stop")) }
            let left = deadline - Self.now()
            if left <= 0 { return end(pid, .leaseRanOut) }
            let ready = poll(&watched, nfds_t(watched.count), Int32(min(left, 1000)))
            if ready < 0 {
                if errno == EINTR { continue }
                return end(pid, .failed("poll: \(String(cString: strerror(errno)))"))
            }
            if watched[1].revents != 0 {
                // quiesced wrote more (it should not) or went away: only its absence counts.
                let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if count <= 0 { return end(pid, .stopped("quiesced went away")) }
            }
            if watched[0].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(fromChild[0], $0.baseAddress, $0.count) }
                if count > 0 {
                    guard output.count + count <= 1 << 20 else { return end(pid, .failed("the command printed more than 1 MiB")) }
                    output += buffer.prefix(count)
                } else if count == 0 {
                    var status: Int32 = 0
                    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                    let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                    kill(-pid, SIGKILL)  // whatever it left running in its group
                    return .finished(code, output)
                }
            }
        }
    }

    /// Kills the command and whatever it started (its process group) and reaps it.
    private func end(_ pid: pid_t, _ outcome: Outcome) -> Outcome {
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return outcome
    }

    private func thaw(_ frozen: [Int32]) {
        for fd in frozen {
            _ = quiesce_thaw_filesystem(fd)
            close(fd)
        }
    }

    /// The first line of standard input, read before the lease runs out.
    private func readRequest() -> [UInt8]? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        var watched = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)]
        while line.count < 1 << 20 {
            let left = deadline - Self.now()
            guard left > 0, poll(&watched, 1, Int32(left)) > 0 else { return nil }
            guard read(STDIN_FILENO, &byte, 1) == 1 else { return nil }
            line.append(byte)
            if byte == UInt8(ascii: "\n") { return line }
        }
        return nil
    }

    /// Milliseconds on the monotonic clock.
    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}
