import ArgumentParser
import QuiesceBus

/// `--system`, `--user` and `--address=`, chosen the way `busctl` does; the system bus by default.
public struct BusOptions: ParsableArguments, Sendable {
    @Flag(name: .customLong("system"), help: "Use the system bus (the default).")
    var system = false

    @Flag(name: .customLong("user"), help: "Use the user's session bus.")
    var user = false

    @Option(name: .customLong("address"), help: ArgumentHelp("Use the bus at this D-Bus address.", valueName: "address"))
    var address: String?

    /// Creates the default: the system bus.
    public init() {}

    public func validate() throws {
        if [system, user, address != nil].filter({ $0 }).count > 1 {
            throw ValidationError("choose one of --system, --user and --address")
        }
        if let address, !address.contains(":") {
            throw ValidationError("--address must be a D-Bus address such as unix:path=/run/quiesce/bus")
        }
    }

    /// The bus chosen.
    public var bus: BusAddress {
        if let address { return .address(address) }
        return user ? .session : .system
    }
}

extension BusOptions {
    /// `arguments` with the bus options that come before or between the (sub)command names
    /// moved after them, so that they go anywhere on the line as with busctl and systemctl:
    /// `quiescectl --address=X snapshot list` parses as `quiescectl snapshot list --address=X`.
    /// `commands` tells a command word from a value: the subcommands of each command, by name.
    public static func movedAfterCommands(_ arguments: [String], commands: [String: [String]]) -> [String] {
        var moved: [String] = []
        var path: [String] = []
        var rest = arguments[...]
        var names = commands[""] ?? []
        while let word = rest.first {
            if word == "--system" || word == "--user" || word.hasPrefix("--address=") {
                moved.append(word)
                rest = rest.dropFirst()
            } else if word == "--address", rest.count > 1 {
                moved += [word, rest[rest.index(after: rest.startIndex)]]
                rest = rest.dropFirst(2)
            } else if names.contains(word) {
                path.append(word)
                names = commands[path.joined(separator: " ")] ?? []
                rest = rest.dropFirst()
            } else {
                break
            }
        }
        return path + moved + rest
    }
}
