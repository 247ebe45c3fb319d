/// A method call that arrived on an exported object.
public struct BusMethodCall: Sendable {
    /// The caller's unique name.
    public var sender: String
    /// The object path called.
    public var path: String
    /// The interface called.
    public var interface: String
    /// The method called.
    public var method: String
    /// The arguments, already checked against the interface's signature.
    public var arguments: [BusValue]

    /// A call of `interface.method` at `path` from `sender`.
    public init(sender: String, path: String, interface: String, method: String, arguments: [BusValue]) {
        self.sender = sender
        self.path = path
        self.interface = interface
        self.method = method
        self.arguments = arguments
    }
}

/// Handles method calls on an exported object: returns the reply's arguments, or throws a
/// ``BusError`` to reply with that error. Runs in its own task; may take as long as it needs.
public typealias BusMethodHandler = @Sendable (BusMethodCall) async throws -> [BusValue]
