internal import CDBus
import Quiesce
import QuiesceBus
import Synchronization

/// A bus connection on libdbus-1 for a process that serves objects and calls peers, such as a
/// writer or quiesced: one thread reads, dispatches, sends calls and runs their timeouts
/// (``ConnectionLoop``); replies and signals are written by the task that makes them, so that
/// an event costs no hop through a second bus thread. Requesters and tools use `QuiesceBus.BusConnection`
/// (GDBus); both offer the bus's own methods through ``BusCalling``.
public final class ServingConnection: BusCalling {
    /// The bus this connection is on.
    public let address: BusAddress
    /// The connection's unique name on the bus.
    public let uniqueName: String

    private let handle: ConnectionHandle
    private let loop: ConnectionLoop
    private let objects = Mutex<[String: ServedObject]>([:])

    private struct Subscriptions {
        var nextID = 0
        var entries: [Int: (filter: SignalFilter, handler: @Sendable (BusSignal) -> Void)] = [:]
    }

    private let subscriptions = Mutex(Subscriptions())

    private let closure = ClosedLatch()

    /// Connects to `address` and registers with the bus.
    public static func connect(to address: BusAddress) async throws -> ServingConnection {
        dbus_threads_init_default()
        var error = DBusError()
        dbus_error_init(&error)
        var connection: OpaquePointer?
        switch address {
        case .system: connection = dbus_bus_get_private(DBUS_BUS_SYSTEM, &error)
        case .session: connection = dbus_bus_get_private(DBUS_BUS_SESSION, &error)
        case .address(let address):
            connection = dbus_connection_open_private(address, &error)
            if let opened = connection, dbus_bus_register(opened, &error) == 0 {
                dbus_connection_close(opened)
                dbus_connection_unref(opened)
                connection = nil
            }
        }
        guard let connection else { throw BusError(consuming: &error) }
        dbus_connection_set_exit_on_disconnect(connection, 0)
        return ServingConnection(connection, address: address)
    }

    private init(_ connection: OpaquePointer, address: BusAddress) {
        self.address = address
        uniqueName = String(cString: dbus_bus_get_unique_name(connection))
        handle = ConnectionHandle(connection)
        // The loop's own reference: it ends with the loop.
        loop = ConnectionLoop(connection: dbus_connection_ref(connection))
        // The filter retains this object until the connection ends (see ended()).
        dbus_connection_add_filter(
            connection, Self.filter, Unmanaged.passRetained(self).toOpaque(),
            { data in Unmanaged<ServingConnection>.fromOpaque(data!).release() }
        )
        loop.start { [weak self] in self?.ended() }
    }

    /// Every message reaches the connection here, on the loop's thread, before libdbus's own
    /// object handling (which answers what nobody took with `UnknownMethod`).
    private static let filter: DBusHandleMessageFunction = { _, message, data in
        Unmanaged<ServingConnection>.fromOpaque(data!).takeUnretainedValue().received(message!)
    }

    private func received(_ message: OpaquePointer) -> DBusHandlerResult {
        switch dbus_message_get_type(message) {
        case MessageType.signal:
            if dbus_message_is_signal(message, "org.freedesktop.DBus.Local", "Disconnected") != 0 {
                ended()
            } else {
                deliver(message)
            }
            return DBUS_HANDLER_RESULT_NOT_YET_HANDLED
        case MessageType.methodCall:
            guard let path = dbus_message_get_path(message).map({ String(cString: $0) }) else { return DBUS_HANDLER_RESULT_NOT_YET_HANDLED }
            if let object = objects.withLock({ $0[path] }) {
                object.received(message) { self.childNodes(under: path) }
                return DBUS_HANDLER_RESULT_HANDLED
            }
            let children = childNodes(under: path)
            if !children.isEmpty, ServedObject.isIntrospect(message) {
                handle.reply(to: message, [.string(ServedObject.introspectionHeader + "<node>\n" + ServedObject.nodes(children) + "</node>\n")])
                return DBUS_HANDLER_RESULT_HANDLED
            }
            return DBUS_HANDLER_RESULT_NOT_YET_HANDLED
        default:
            return DBUS_HANDLER_RESULT_NOT_YET_HANDLED
        }
    }

    /// The names of the nodes right below `path` that lead to exported objects (what an
    /// `Introspect` lists, so that `busctl tree` finds every object).
    private func childNodes(under path: String) -> [String] {
        let prefix = path == "/" ? "/" : path + "/"
        return objects.withLock { objects in
            Set(objects.keys.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count).prefix { $0 != "/" }) }).sorted()
        }
    }

    /// The connection is gone: nothing more will arrive. Wakes every waiter and removes the
    /// filter (whose retain of this object goes once the filter has returned). Subscribers'
    /// streams end when they cancel; nothing more is delivered to them.
    private func ended() {
        guard closure.close() else { return }
        subscriptions.withLock { $0.entries = [:] }
        dbus_connection_remove_filter(handle.raw, Self.filter, Unmanaged.passUnretained(self).toOpaque())
    }

    // MARK: - Objects

    /// Exports `interface` at `path`. Method calls of the interface go to `handler`, each in its
    /// own task once its signature matches the XML; property reads are answered from the
    /// object's values, starting with `properties`; `Introspect` returns the interface's XML.
    /// Throws `InvalidArgs` for a malformed path or one already exported.
    public func export(
        path: String,
        interface: InterfaceDescription,
        properties: [String: BusValue] = [:],
        handler: @escaping BusMethodHandler
    ) throws -> ServedObject {
        guard BusNameCheck.isPath(path) else { throw BusError(name: BusError.invalidArgs, message: "malformed object path \(path)") }
        let object = ServedObject(path: path, interface: interface, properties: properties, handle: handle, handler: handler) { [weak self] object in
            self?.objects.withLock { objects in
                if objects[object.path] === object { objects[object.path] = nil }
            }
        }
        try objects.withLock { objects in
            guard objects[path] == nil else { throw BusError(name: BusError.invalidArgs, message: "an object is already exported at \(path)") }
            objects[path] = object
        }
        return object
    }

    // MARK: - Calls

    /// Calls a method and waits for its reply. The call is sent from the loop's thread, which
    /// also completes it: libdbus-1 reads a pending call's notify function and sets it completed
    /// without a lock, so a call sent from another thread could lose its reply, or take it twice
    /// (which aborts the process). A cancelled task stops waiting at once (the reply, when it
    /// comes, is dropped).
    public func call(
        destination: String?,
        path: String,
        interface: String,
        method: String,
        arguments: [BusValue] = [],
        timeout: Duration? = .seconds(25)
    ) async throws -> [BusValue] {
        guard BusNameCheck.isPath(path), BusNameCheck.isInterface(interface), BusNameCheck.isMember(method),
            destination.map(BusNameCheck.isBusName) ?? true,
            let message = dbus_message_new_method_call(destination, path, interface, method)
        else { throw BusError.malformedCall }
        BusValue.append(arguments, to: message)
        let request = LibDBusPointer(message)
        let milliseconds = timeout.map { Int32(clamping: max(1, $0.wholeMilliseconds)) } ?? Int32.max  // DBUS_TIMEOUT_INFINITE
        let waiter = ReplyWaiter()
        let handle = self.handle
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard waiter.start(continuation) else { return dbus_message_unref(request.raw) }
                loop.perform {
                    defer { dbus_message_unref(request.raw) }
                    var pending: OpaquePointer?
                    guard dbus_connection_send_with_reply(handle.raw, request.raw, &pending, milliseconds) != 0, let pending else {
                        return waiter.fail(BusError(name: BusError.disconnected, message: "the connection is closed"))
                    }
                    waiter.follow(pending)
                    dbus_pending_call_unref(pending)  // the connection keeps it until the reply
                }
            }
        } onCancel: {
            waiter.cancel()
        }
    }

    // MARK: - Signals

    /// Emits a signal from `path` (to `destination` only, if given).
    public func emitSignal(path: String, interface: String, name: String, arguments: [BusValue], destination: String? = nil) throws {
        guard BusNameCheck.isPath(path), BusNameCheck.isInterface(interface), BusNameCheck.isMember(name),
            destination.map(BusNameCheck.isBusName) ?? true,
            let signal = dbus_message_new_signal(path, interface, name)
        else { throw BusError(name: BusError.invalidArgs, message: "malformed object path, interface, signal name or destination") }
        defer { dbus_message_unref(signal) }
        if let destination { dbus_message_set_destination(signal, destination) }
        BusValue.append(arguments, to: signal)
        handle.send(signal)
    }

    /// Subscribes to the signals `filter` matches: one match rule on the bus, and each signal
    /// received goes to every subscription whose filter it matches. The filter's `sender` is a
    /// unique name or `org.freedesktop.DBus`: signals carry no well-known names.
    public func subscribe(to filter: SignalFilter, handler: @escaping @Sendable (BusSignal) -> Void) async throws -> SignalSubscription {
        _ = try await callBus("AddMatch", [.string(filter.rule)])
        let id = subscriptions.withLock { state in
            defer { state.nextID += 1 }
            state.entries[state.nextID] = (filter, handler)
            return state.nextID
        }
        return SignalSubscription { [weak self] in
            guard let self, self.subscriptions.withLock({ $0.entries.removeValue(forKey: id) }) != nil else { return }
            self.sendToBus("RemoveMatch", [.string(filter.rule)])
        }
    }

    /// Hands a signal to every subscription it matches (on the loop's thread).
    private func deliver(_ message: OpaquePointer) {
        let entries = subscriptions.withLock { Array($0.entries.values) }
        guard !entries.isEmpty else { return }
        let text = { (value: UnsafePointer<CChar>?) in value.map { String(cString: $0) } ?? "" }
        let signal = BusSignal(
            sender: text(dbus_message_get_sender(message)), path: text(dbus_message_get_path(message)),
            interface: text(dbus_message_get_interface(message)), name: text(dbus_message_get_member(message)),
            arguments: BusValue.arguments(of: message)
        )
        for entry in entries where entry.filter.matches(signal) { entry.handler(signal) }
    }

    /// Calls a method of the bus without waiting for (or asking for) a reply.
    private func sendToBus(_ method: String, _ arguments: [BusValue]) {
        guard let message = dbus_message_new_method_call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", method) else { return }
        dbus_message_set_no_reply(message, 1)
        BusValue.append(arguments, to: message)
        handle.send(message)
        dbus_message_unref(message)
    }

    // MARK: - Closing

    /// Whether the connection has been closed (by ``close()`` or because the bus went away).
    public var isClosed: Bool { closure.isClosed }

    /// Returns when the connection is closed.
    public func waitUntilClosed() async {
        await closure.wait()
    }

    /// Closes the connection: the bus releases every name it owned. Pending calls fail.
    public func close() async {
        let handle = self.handle
        loop.perform { dbus_connection_close(handle.raw) }
        await waitUntilClosed()
    }
}
