/// Which bus to connect to, chosen the way `busctl` does.
public enum BusAddress: Sendable, Hashable, CustomStringConvertible {
    /// The system bus (the default in production).
    case system
    /// The user's session bus.
    case session
    /// A bus at an explicit address, e.g. `unix:path=/run/quiesce/bus`.
    case address(String)

    /// A short description for messages.
    public var description: String {
        switch self {
        case .system: "the system bus"
        case .session: "the session bus"
        case .address(let address): "the bus at \(address)"
        }
    }
}
