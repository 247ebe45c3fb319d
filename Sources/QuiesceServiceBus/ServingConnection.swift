internal import CDBus
import Quiesce
import QuiesceBus
import Synchronization

/// A bus connection on libdbus-1 for a process that serves objects, such as a writer: one
/// thread reads, dispatches and writes (``ConnectionLoop``), and a handler's reply is written
/// by the task that made it, so that an event costs no hop through a second bus thread. It
/// offers what a writer needs: exported objects with properties, a bus name, and the owners of
/// other names. Programs that call many peers (quiesced, requesters) use
/// `QuiesceBus.BusConnection` (GDBus).
public final class ServingConnection: Sendable {
    /// The connection's unique name on the bus.
    public let uniqueName: String

    private let handle: ConnectionHandle
    private let loop: ConnectionLoop
    private let objects = Mutex<[String: ServedObject]>([:])

    private struct OwnerWatchers {
        var nextID = 0
        var watchers: [Int: (name: String, continuation: AsyncStream<NameOwnerChange>.Continuation)] = [:]
    }

    private let ownerWatchers = Mutex(OwnerWatchers())

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
        return ServingConnection(connection)
    }

    private init(_ connection: OpaquePointer) {
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
            } else if dbus_message_is_signal(message, "org.freedesktop.DBus", "NameOwnerChanged") != 0 {
                nameOwnerChanged(BusValue.arguments(of: message))
            }
            return DBUS_HANDLER_RESULT_NOT_YET_HANDLED
        case MessageType.methodCall:
            guard let path = dbus_message_get_path(message).map({ String(cString: $0) }) else { return DBUS_HANDLER_RESULT_NOT_YET_HANDLED }
            if let object = objects.withLock({ $0[path] }) {
                object.received(message)
                return DBUS_HANDLER_RESULT_HANDLED
            }
            if let child = childNode(under: path), ServedObject.isIntrospect(message) {
                handle.reply(to: message, [.string(ServedObject.introspectionHeader + "<node>\n  <node name=\"\(child)\"/>\n</node>\n")])
                return DBUS_HANDLER_RESULT_HANDLED
            }
            return DBUS_HANDLER_RESULT_NOT_YET_HANDLED
        default:
            return DBUS_HANDLER_RESULT_NOT_YET_HANDLED
        }
    }

    /// The name of the node below `path` that leads to an exported object (what an
    /// `Introspect` of `/` or `/org` lists, so that `busctl tree` finds the objects).
    private func childNode(under path: String) -> String? {
        let prefix = path == "/" ? "/" : path + "/"
        return objects.withLock { objects in
            objects.keys.sorted().first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count).prefix { $0 != "/" }) }
        }
    }

    /// The connection is gone: nothing more will arrive. Wakes every waiter, ends every stream
    /// and removes the filter (whose retain of this object goes once the filter has returned).
    private func ended() {
        guard closure.close() else { return }
        for watcher in ownerWatchers.withLock({ $0.watchers.values.map(\.continuation) }) { watcher.finish() }
        dbus_connection_remove_filter(handle.raw, Self.filter, Unmanaged.passUnretained(self).toOpaque())
    }

    // MARK: - Objects

    /// Exports `interface` at `path`. Method calls of the interface go to `handler`, each in its
    /// own task once its signature matches the XML; property reads are answered from the
    /// object's values, starting with `properties`; `Introspect` returns the interface's XML.
    public func export(
        path: String,
        interface: InterfaceDescription,
        properties: [String: BusValue] = [:],
        handler: @escaping BusMethodHandler
    ) -> ServedObject {
        let object = ServedObject(path: path, interface: interface, properties: properties, handle: handle, handler: handler)
        objects.withLock { $0[path] = object }
        return object
    }

    // MARK: - Calls

    /// Calls a method and waits for its reply (the call goes out from the loop's thread, which
    /// also reads the reply).
    public func call(
        destination: String,
        path: String,
        interface: String,
        method: String,
        arguments: [BusValue] = [],
        timeout: Duration = .seconds(25)
    ) async throws -> [BusValue] {
        guard let message = dbus_message_new_method_call(destination, path, interface, method) else {
            throw BusError(name: BusError.invalidArgs, message: "malformed destination, object path, interface or method name")
        }
        BusValue.append(arguments, to: message)
        let request = LibDBusPointer(message)
        let milliseconds = Int32(clamping: timeout.wholeMilliseconds)
        let handle = self.handle
        return try await withCheckedThrowingContinuation { continuation in
            loop.perform {
                defer { dbus_message_unref(request.raw) }
                var pending: OpaquePointer?
                guard dbus_connection_send_with_reply(handle.raw, request.raw, &pending, milliseconds) != 0, let pending else {
                    continuation.resume(throwing: BusError(name: BusError.disconnected, message: "the connection is closed"))
                    return
                }
                let waiter = Unmanaged.passRetained(ReplyWaiter(continuation)).toOpaque()
                dbus_pending_call_set_notify(
                    pending,
                    { pending, data in
                        let reply = dbus_pending_call_steal_reply(pending)
                        Unmanaged<ReplyWaiter>.fromOpaque(data!).takeUnretainedValue().finish(reply)
                        if let reply { dbus_message_unref(reply) }
                    },
                    waiter,
                    { data in Unmanaged<ReplyWaiter>.fromOpaque(data!).release() }
                )
                dbus_pending_call_unref(pending)  // the connection keeps it until the reply
            }
        }
    }

    private func callBus(_ method: String, _ arguments: [BusValue]) async throws -> [BusValue] {
        try await call(destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", method: method, arguments: arguments)
    }

    /// Takes `name` (without queueing), or throws ``NameRequestError/nameTaken(_:)``.
    public func requestName(_ name: String) async throws {
        let reply = try await callBus("RequestName", [.string(name), .uint32(4)])  // 4: do not queue
        switch reply.first?.uint64Value {
        case 1, 4: return  // primary owner, already owner
        default: throw NameRequestError.nameTaken(name)
        }
    }

    /// The unique name owning `name`, or `nil` if nobody does.
    public func nameOwner(_ name: String) async throws -> String? {
        do {
            return try await callBus("GetNameOwner", [.string(name)]).first?.stringValue
        } catch let error as BusError where error.name == BusError.nameHasNoOwner {
            return nil
        }
    }

    /// Changes of the owner of `name`. The subscription is in place when this returns; the
    /// stream ends when the connection does.
    public func nameOwnerChanges(of name: String) async throws -> AsyncStream<NameOwnerChange> {
        let (stream, continuation) = AsyncStream<NameOwnerChange>.makeStream()
        let id = ownerWatchers.withLock { state in
            defer { state.nextID += 1 }
            state.watchers[state.nextID] = (name, continuation)
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in _ = self?.ownerWatchers.withLock { $0.watchers.removeValue(forKey: id) } }
        let rule = "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',path='/org/freedesktop/DBus',arg0='\(name)'"
        _ = try await callBus("AddMatch", [.string(rule)])
        return stream
    }

    private func nameOwnerChanged(_ arguments: [BusValue]) {
        guard arguments.count == 3, let name = arguments[0].stringValue else { return }
        let old = arguments[1].stringValue ?? "", new = arguments[2].stringValue ?? ""
        let change = NameOwnerChange(name: name, oldOwner: old.isEmpty ? nil : old, newOwner: new.isEmpty ? nil : new)
        for watcher in ownerWatchers.withLock({ $0.watchers.values.filter { $0.name == name } }) {
            watcher.continuation.yield(change)
        }
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

/// The D-Bus message types, as libdbus-1's `DBUS_MESSAGE_TYPE_*` (macros Swift does not import).
enum MessageType {
    static let methodCall: Int32 = 1
    static let error: Int32 = 3
    static let signal: Int32 = 4
}

/// A libdbus-1 pointer that may cross threads: a message (reference counted atomically, not
/// changed once sent or received), or a watch or timeout (used on the loop's thread, kept by
/// others only to be compared).
struct LibDBusPointer: @unchecked Sendable, Hashable {
    let raw: OpaquePointer
    init(_ raw: OpaquePointer) { self.raw = raw }
}

/// The connection as any thread uses it to send: libdbus-1 connections are thread-safe once
/// `dbus_threads_init_default` has run. Holds one reference.
final class ConnectionHandle: @unchecked Sendable {
    let raw: OpaquePointer

    init(_ raw: OpaquePointer) { self.raw = raw }

    deinit { dbus_connection_unref(raw) }

    /// Sends `message` now (written from this thread if the socket takes it, else queued for
    /// the loop).
    func send(_ message: OpaquePointer) {
        dbus_connection_send(raw, message, nil)
    }

    /// Replies to `call` with `values`, unless its sender asked for no reply.
    func reply(to call: OpaquePointer, _ values: [BusValue]) {
        guard dbus_message_get_no_reply(call) == 0, let reply = dbus_message_new_method_return(call) else { return }
        BusValue.append(values, to: reply)
        send(reply)
        dbus_message_unref(reply)
    }

    /// Replies to `call` with the error `name` (`Failed` if `name` is not a valid error name:
    /// libdbus-1 would refuse to send it, and the caller would wait for its timeout).
    func reply(to call: OpaquePointer, error name: String, _ message: String) {
        let name = dbus_validate_error_name(name, nil) != 0 ? name : BusError.failed
        guard dbus_message_get_no_reply(call) == 0, let reply = dbus_message_new_error(call, name, message.validUTF8WithoutNUL) else { return }
        send(reply)
        dbus_message_unref(reply)
    }
}

/// Resumes a call's task with its reply, once. libdbus-1 drops the pending calls of a
/// connection that ends without telling them; the waiter then fails its call as it goes.
private final class ReplyWaiter: @unchecked Sendable {
    private var continuation: CheckedContinuation<[BusValue], any Error>?

    init(_ continuation: CheckedContinuation<[BusValue], any Error>) {
        self.continuation = continuation
    }

    deinit {
        continuation?.resume(throwing: BusError(name: BusError.disconnected, message: "the connection ended before the reply came"))
    }

    /// Called on the loop's thread with the reply (`nil`: the call ended without one).
    func finish(_ reply: OpaquePointer?) {
        guard let continuation else { return }
        self.continuation = nil
        guard let reply else {
            continuation.resume(throwing: BusError(name: BusError.noReply, message: "the call ended without a reply"))
            return
        }
        let arguments = BusValue.arguments(of: reply)
        if dbus_message_get_type(reply) == MessageType.error {
            let name = dbus_message_get_error_name(reply).map { String(cString: $0) } ?? BusError.failed
            continuation.resume(throwing: BusError(name: name, message: arguments.first?.stringValue ?? ""))
        } else {
            continuation.resume(returning: arguments)
        }
    }
}

extension BusError {
    /// Converts a libdbus-1 error, freeing it.
    init(consuming error: inout DBusError) {
        defer { dbus_error_free(&error) }
        self.init(
            name: error.name.map { String(cString: $0) } ?? BusError.failed,
            message: error.message.map { String(cString: $0) } ?? "the bus could not be reached"
        )
    }
}
