internal import CGLib
import Synchronization

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

    /// A signal `interface.name` from `sender` at `path`.
    public init(sender: String, path: String, interface: String, name: String, arguments: [BusValue]) {
        self.sender = sender
        self.path = path
        self.interface = interface
        self.name = name
        self.arguments = arguments
    }
}

/// A subscription to signals; ``cancel()`` ends it (once: later calls do nothing).
public final class SignalSubscription: Sendable {
    private let onCancel: Mutex<(@Sendable () -> Void)?>

    /// A subscription that `onCancel` ends.
    package init(onCancel: @escaping @Sendable () -> Void) {
        self.onCancel = Mutex(onCancel)
    }

    /// Stops delivering signals.
    public func cancel() {
        onCancel.withLock { body in
            defer { body = nil }
            return body
        }?()
    }
}

extension BusConnection {
    /// Subscribes to the signals `filter` matches (GDBus adds the match rule and picks the
    /// subscriptions each signal goes to).
    public func subscribe(to filter: SignalFilter, handler: @escaping @Sendable (BusSignal) -> Void) async throws -> SignalSubscription {
        typealias Handler = @Sendable (BusSignal) -> Void
        let connection = self.connection
        let box = CallbackBox<Handler>(handler)
        let id = try await loop.run {
            g_dbus_connection_signal_subscribe(
                connection.raw, filter.sender, filter.interface, filter.member, filter.path, filter.arg0,
                filter.arg0IsNamespace ? G_DBUS_SIGNAL_FLAGS_MATCH_ARG0_NAMESPACE : G_DBUS_SIGNAL_FLAGS_NONE,
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
        return SignalSubscription { g_dbus_connection_signal_unsubscribe(connection.raw, id) }
    }
}
