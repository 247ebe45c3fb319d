internal import CGLib

/// A GLib pointer that may cross threads. GDBus connections, method invocations and
/// variants are thread-safe (or immutable) in GLib; this only tells Swift so.
struct GLibPointer: @unchecked Sendable {
    let raw: OpaquePointer
    init(_ raw: OpaquePointer) { self.raw = raw }
}

/// The non-generic base of ``CallbackBox``, so that one C function can release any box.
class AnyCallbackBox: @unchecked Sendable {
    /// A `GDestroyNotify` that releases a box passed as `user_data`.
    static let release: GDestroyNotify = { pointer in Unmanaged<AnyCallbackBox>.fromOpaque(pointer!).release() }
}

/// Holds a Swift value for a C callback's `user_data`.
final class CallbackBox<Value>: AnyCallbackBox, @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }

    /// Retains the box and returns it as `user_data`.
    func retainedPointer() -> gpointer { Unmanaged.passRetained(self).toOpaque() }

    /// The box behind `user_data`, not consuming the retain.
    static func borrow(_ pointer: gpointer?) -> CallbackBox<Value> {
        Unmanaged<CallbackBox<Value>>.fromOpaque(pointer!).takeUnretainedValue()
    }

    /// The box behind `user_data`, consuming the retain.
    static func take(_ pointer: gpointer?) -> CallbackBox<Value> {
        Unmanaged<CallbackBox<Value>>.fromOpaque(pointer!).takeRetainedValue()
    }
}

extension BusError {
    /// Converts a GError from GDBus, consuming it.
    init(consuming error: UnsafeMutablePointer<GError>) {
        defer { g_error_free(error) }
        if let remote = g_dbus_error_get_remote_error(error) {
            defer { g_free(remote) }
            g_dbus_error_strip_remote_error(error)
            self.init(name: String(cString: remote), message: String(cString: error.pointee.message))
            return
        }
        let message = String(cString: error.pointee.message)
        if error.pointee.domain == g_io_error_quark() {
            switch error.pointee.code {
            case Int32(G_IO_ERROR_TIMED_OUT.rawValue): self.init(name: BusError.timeout, message: message)
            case Int32(G_IO_ERROR_CLOSED.rawValue): self.init(name: BusError.disconnected, message: message)
            case Int32(G_IO_ERROR_CANCELLED.rawValue): self.init(name: "org.quiesce.Bus.Cancelled", message: message)
            default: self.init(name: BusError.failed, message: message)
            }
        } else if error.pointee.domain == g_dbus_error_quark() {
            let name = g_dbus_error_encode_gerror(error).map { pointer in
                defer { g_free(pointer) }
                return String(cString: pointer)
            }
            self.init(name: name ?? BusError.failed, message: message)
        } else {
            self.init(name: BusError.failed, message: message)
        }
    }
}

/// A typed GLib object pointer that may cross threads (see ``GLibPointer``).
struct GLibObjectPointer<Pointee>: @unchecked Sendable {
    let raw: UnsafeMutablePointer<Pointee>
    init(_ raw: UnsafeMutablePointer<Pointee>) { self.raw = raw }
}
