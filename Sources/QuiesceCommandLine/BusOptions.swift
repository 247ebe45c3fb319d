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
