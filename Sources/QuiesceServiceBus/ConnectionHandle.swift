internal import CDBus
import QuiesceBus

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

/// The D-Bus message types, as libdbus-1's `DBUS_MESSAGE_TYPE_*` (macros Swift does not import).
enum MessageType {
    static let methodCall: Int32 = 1
    static let error: Int32 = 3
    static let signal: Int32 = 4
}

/// A libdbus-1 pointer that may cross threads: a message (reference counted atomically, not
/// changed once sent or received), a pending call (used under its waiter's lock), or a watch or
/// timeout (used on the loop's thread, kept by others only to be compared).
struct LibDBusPointer: @unchecked Sendable, Hashable {
    let raw: OpaquePointer
    init(_ raw: OpaquePointer) { self.raw = raw }
}

/// Whether names and paths are well-formed before they reach libdbus-1, which aborts the
/// process on a malformed one.
/// A string with a NUL would reach libdbus-1 cut short: never valid.
enum BusNameCheck {
    static func isPath(_ path: String) -> Bool { !path.utf8.contains(0) && dbus_validate_path(path, nil) != 0 }
    static func isInterface(_ name: String) -> Bool { !name.utf8.contains(0) && dbus_validate_interface(name, nil) != 0 }
    static func isMember(_ name: String) -> Bool { !name.utf8.contains(0) && dbus_validate_member(name, nil) != 0 }
    static func isBusName(_ name: String) -> Bool { !name.utf8.contains(0) && dbus_validate_bus_name(name, nil) != 0 }
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

    /// A call on a malformed name or path, refused before it is sent.
    static let malformedCall = BusError(name: BusError.invalidArgs, message: "malformed destination, object path, interface or method name")
}
