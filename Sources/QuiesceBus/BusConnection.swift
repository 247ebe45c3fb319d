internal import CGLib

/// A connection to a D-Bus message bus, driven by GDBus on a dedicated thread.
///
/// Every method is safe to call from any task; none blocks the bus thread. Replies to calls
/// made with ``call(destination:path:interface:method:arguments:timeout:)`` and signals are
/// delivered as async Swift. What requesters and tools use; processes that serve objects
/// (writers, quiesced) use the libdbus-1 connection of `QuiesceServiceBus`.
public final class BusConnection: BusCalling {
    /// The bus this connection is on.
    public let address: BusAddress
    /// The connection's unique name, e.g. `:1.42`.
    public let uniqueName: String

    let loop: MainLoopThread
    let connection: GLibPointer
    private let closure = ClosedLatch()

    private init(address: BusAddress, uniqueName: String, loop: MainLoopThread, connection: GLibPointer) {
        self.address = address
        self.uniqueName = uniqueName
        self.loop = loop
        self.connection = connection
    }

    /// Connects to a bus and registers with it.
    public static func connect(to address: BusAddress) async throws -> BusConnection {
        let addressString = try resolve(address)
        let loop = MainLoopThread(name: "quiesce-bus")
        do {
            let connection = try await loop.run { () throws -> GLibPointer in
                var error: UnsafeMutablePointer<GError>?
                let flags = GDBusConnectionFlags(
                    rawValue: G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT.rawValue
                        | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION.rawValue
                )
                guard let connection = g_dbus_connection_new_for_address_sync(addressString, flags, nil, nil, &error)
                else { throw BusError(consuming: error!) }
                g_dbus_connection_set_exit_on_close(connection, 0)
                return GLibPointer(connection)
            }
            let uniqueName = String(cString: g_dbus_connection_get_unique_name(connection.raw))
            let bus = BusConnection(address: address, uniqueName: uniqueName, loop: loop, connection: connection)
            try await bus.watchClosed()
            return bus
        } catch {
            loop.stop()
            throw error
        }
    }

    private static func resolve(_ address: BusAddress) throws -> String {
        let type: GBusType
        switch address {
        case .address(let string): return string
        case .system: type = G_BUS_TYPE_SYSTEM
        case .session: type = G_BUS_TYPE_SESSION
        }
        var error: UnsafeMutablePointer<GError>?
        guard let pointer = g_dbus_address_get_for_bus_sync(type, nil, &error) else {
            throw BusError(consuming: error!)
        }
        defer { g_free(pointer) }
        return String(cString: pointer)
    }

    /// Calls a method and waits for its reply.
    ///
    /// - Parameters:
    ///   - destination: the bus name to call (`nil` for a peer-to-peer connection).
    ///   - path: the object path.
    ///   - interface: the interface of the method.
    ///   - method: the method's name.
    ///   - arguments: the call's arguments, in order.
    ///   - timeout: how long to wait for the reply; `nil` waits for ever.
    /// - Returns: the reply's arguments.
    /// - Throws: ``BusError`` with the peer's error name, or a timeout (``BusError/isTimeout``).
    public func call(
        destination: String?,
        path: String,
        interface: String,
        method: String,
        arguments: [BusValue] = [],
        timeout: Duration? = .seconds(25)
    ) async throws -> [BusValue] {
        // GDBus ignores calls with malformed names (it only logs a critical warning): refuse them.
        guard g_variant_is_object_path(path) != 0, g_dbus_is_interface_name(interface) != 0, g_dbus_is_member_name(method) != 0,
            destination.map({ g_dbus_is_name($0) != 0 }) ?? true
        else {
            throw BusError(name: BusError.invalidArgs, message: "malformed destination, object path, interface or method name")
        }
        let parameters = GLibPointer(g_variant_ref_sink(BusValue.makeTuple(arguments)))
        let cancellable = GLibObjectPointer(g_cancellable_new()!)
        defer {
            g_variant_unref(parameters.raw)
            g_object_unref(UnsafeMutableRawPointer(cancellable.raw))
        }
        let timeoutMilliseconds = timeout.map(Self.milliseconds) ?? Int32.max
        let connection = self.connection
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[BusValue], any Error>) in
                loop.perform {
                    let box = CallbackBox(continuation)
                    g_dbus_connection_call(
                        connection.raw, destination, path, interface, method, parameters.raw, nil,
                        G_DBUS_CALL_FLAGS_NONE, timeoutMilliseconds, cancellable.raw,
                        { source, result, userData in
                            let continuation = CallbackBox<CheckedContinuation<[BusValue], any Error>>.take(userData).value
                            var error: UnsafeMutablePointer<GError>?
                            if let reply = g_dbus_connection_call_finish(OpaquePointer(source), result, &error) {
                                defer { g_variant_unref(reply) }
                                continuation.resume(returning: BusValue.children(of: reply))
                            } else {
                                continuation.resume(throwing: BusError(consuming: error!))
                            }
                        },
                        box.retainedPointer()
                    )
                }
            }
        } onCancel: {
            g_cancellable_cancel(cancellable.raw)
        }
    }

    static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(1, milliseconds))
    }

    /// Whether the connection has been closed (by ``close()`` or because the bus went away).
    public var isClosed: Bool { closure.isClosed }

    /// Returns when the connection is closed.
    public func waitUntilClosed() async {
        await closure.wait()
    }

    /// Closes the connection: the bus releases every name it owned. Pending calls fail.
    public func close() async {
        let connection = self.connection
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            loop.perform {
                let box = CallbackBox(continuation)
                g_dbus_connection_close(
                    connection.raw, nil,
                    { source, result, userData in
                        g_dbus_connection_close_finish(OpaquePointer(source), result, nil)
                        CallbackBox<CheckedContinuation<Void, Never>>.take(userData).value.resume()
                    },
                    box.retainedPointer()
                )
            }
        }
        markClosed()
    }

    private func watchClosed() async throws {
        let connection = self.connection
        let box = CallbackBox<@Sendable () -> Void>({ [weak self] in self?.markClosed() })
        try await loop.run {
            let handler: @convention(c) (OpaquePointer?, gboolean, UnsafeMutablePointer<GError>?, gpointer?) -> Void = {
                _, _, _, userData in
                CallbackBox<@Sendable () -> Void>.borrow(userData).value()
            }
            g_signal_connect_data(
                UnsafeMutableRawPointer(connection.raw), "closed", unsafeBitCast(handler, to: GCallback.self),
                box.retainedPointer(), { pointer, _ in AnyCallbackBox.release(pointer) },
                GConnectFlags(rawValue: 0)
            )
        }
    }

    private func markClosed() {
        closure.close()
    }

    deinit {
        loop.stop()
        g_object_unref(UnsafeMutableRawPointer(connection.raw))
    }
}
