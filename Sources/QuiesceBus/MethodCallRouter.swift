internal import CGLib
import Synchronization

/// Dispatches method calls of exported interfaces straight from GDBus's worker thread, where
/// messages arrive, to a Swift task: GDBus would first hand them to the bus thread's main
/// context, one more thread hop per call. Calls it does not route (other interfaces, unknown
/// methods, wrong signatures) go on to GDBus, which answers them (Introspect, Properties,
/// `UnknownMethod`, `InvalidArgs`).
final class MethodCallRouter: Sendable {
    private struct Route: Sendable {
        let handler: BusMethodHandler
        let inputSignatures: [String: String]
    }

    private let routes = Mutex<[String: Route]>([:])

    private static func key(_ path: String, _ interface: String) -> String { path + "\u{0}" + interface }

    func add(path: String, interface: InterfaceDescription, handler: @escaping BusMethodHandler) {
        routes.withLock { $0[Self.key(path, interface.name)] = Route(handler: handler, inputSignatures: interface.inputSignatures) }
    }

    func remove(path: String, interface: String) {
        routes.withLock { $0[Self.key(path, interface)] = nil }
    }

    /// Installs the router as a message filter of `connection`.
    func install(on connection: GLibPointer) {
        let box = CallbackBox(self)
        g_dbus_connection_add_filter(
            connection.raw,
            { connection, message, incoming, userData in
                guard let message, let connection else { return message }
                let router = CallbackBox<MethodCallRouter>.borrow(userData).value
                return router.route(message, incoming: incoming != 0, on: GLibPointer(connection))
            },
            box.retainedPointer(),
            AnyCallbackBox.release
        )
    }

    /// Takes the message (returns `nil`) when it is a call of a routed method.
    private func route(_ message: OpaquePointer, incoming: Bool, on connection: GLibPointer) -> OpaquePointer? {
        guard incoming, g_dbus_message_get_message_type(message) == G_DBUS_MESSAGE_TYPE_METHOD_CALL,
            let path = g_dbus_message_get_path(message).map({ String(cString: $0) }),
            let interface = g_dbus_message_get_interface(message).map({ String(cString: $0) }),
            let member = g_dbus_message_get_member(message).map({ String(cString: $0) }),
            let route = routes.withLock({ $0[Self.key(path, interface)] }),
            let expected = route.inputSignatures[member],
            (g_dbus_message_get_signature(message).map { String(cString: $0) } ?? "") == expected
        else { return message }
        let call = BusMethodCall(
            sender: g_dbus_message_get_sender(message).map { String(cString: $0) } ?? "",
            path: path,
            interface: interface,
            method: member,
            arguments: g_dbus_message_get_body(message).map { BusValue.children(of: $0) } ?? []
        )
        let wantsReply = (g_dbus_message_get_flags(message).rawValue & G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED.rawValue) == 0
        let request = GLibPointer(message)  // owned by us from here; released after the reply
        Task {
            let reply: OpaquePointer
            do {
                let values = try await route.handler(call)
                reply = g_dbus_message_new_method_reply(request.raw)
                g_dbus_message_set_body(reply, BusValue.makeTuple(values))
            } catch let error as BusError {
                reply = g_dbus_message_new_method_error_literal(request.raw, error.name, error.message)
            } catch {
                reply = g_dbus_message_new_method_error_literal(request.raw, BusError.failed, "\(error)")
            }
            if wantsReply {
                g_dbus_connection_send_message(connection.raw, reply, G_DBUS_SEND_MESSAGE_FLAGS_NONE, nil, nil)
            }
            g_object_unref(UnsafeMutableRawPointer(reply))
            g_object_unref(UnsafeMutableRawPointer(request.raw))
        }
        return nil
    }
}
