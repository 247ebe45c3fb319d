internal import CGLib

/// A signal received from the bus.
public struct BusSignal: Sendable {
    /// The unique name of the sender.
    public var sender: String
    /// The object path the signal came from.
    public var path: String
    /// The signal's interface.
    public var interface: String
    /// The signal's name.
    public var name: String
    /// The signal's arguments.
    public var arguments: [BusValue]
}

/// A subscription to signals; ``cancel()`` ends it.
public final class SignalSubscription: Sendable {
    private let connection: BusConnection
    private let id: UInt32

    init(connection: BusConnection, id: UInt32) {
        self.connection = connection
        self.id = id
    }

    /// Stops delivering signals.
    public func cancel() {
        g_dbus_connection_signal_unsubscribe(connection.connection.raw, id)
    }
}

extension BusConnection {
    /// Subscribes to signals matching every non-nil filter; the bus filters, so non-matching
    /// signals never reach the process. `arg0IsNamespace` matches `arg0` and every name below it
    /// (`org.quiesce.Writer` matches `org.quiesce.Writer.notes`). `handler` runs on the bus thread
    /// and must return quickly (hand the signal to a stream or a task).
    public func subscribe(
        sender: String? = nil,
        interface: String? = nil,
        member: String? = nil,
        path: String? = nil,
        arg0: String? = nil,
        arg0IsNamespace: Bool = false,
        handler: @escaping @Sendable (BusSignal) -> Void
    ) async throws -> SignalSubscription {
        typealias Handler = @Sendable (BusSignal) -> Void
        let connection = self.connection
        let box = CallbackBox<Handler>(handler)
        let id = try await loop.run {
            g_dbus_connection_signal_subscribe(
                connection.raw, sender, interface, member, path, arg0,
                arg0IsNamespace ? G_DBUS_SIGNAL_FLAGS_MATCH_ARG0_NAMESPACE : G_DBUS_SIGNAL_FLAGS_NONE,
                { _, sender, path, interface, name, parameters, userData in
                    let signal = BusSignal(
                        sender: sender.map { String(cString: $0) } ?? "",
                        path: String(cString: path!),
                        interface: String(cString: interface!),
                        name: String(cString: name!),
                        arguments: parameters.map { BusValue.children(of: $0) } ?? []
                    )
                    CallbackBox<Handler>.borrow(userData).value(signal)
                },
                box.retainedPointer(),
                AnyCallbackBox.release
            )
        }
        return SignalSubscription(connection: self, id: id)
    }
}
