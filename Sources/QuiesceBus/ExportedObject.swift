internal import CGLib

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

/// An object exported on the bus: one interface at one path, with its properties.
public final class ExportedObject: Sendable {
    /// The object path.
    public let path: String
    /// The interface exported.
    public let interface: InterfaceDescription

    private let connection: BusConnection
    private let registration: Registration
    private let registrationID: UInt32

    final class Registration: Sendable {
        let handler: BusMethodHandler
        let properties: PropertyValues

        init(handler: @escaping BusMethodHandler, properties: [String: BusValue]) {
            self.handler = handler
            self.properties = PropertyValues(properties)
        }
    }

    init(path: String, interface: InterfaceDescription, connection: BusConnection, registration: Registration, registrationID: UInt32) {
        self.path = path
        self.interface = interface
        self.connection = connection
        self.registration = registration
        self.registrationID = registrationID
    }

    /// The current value of a property.
    public func property(_ name: String) -> BusValue? {
        registration.properties.value(name)
    }

    /// Sets properties and emits one PropertiesChanged signal for those whose value changed.
    public func setProperties(_ values: [String: BusValue]) {
        registration.properties.set(values, announcing: announce)
    }

    /// Sets properties without a signal (a property read sees them at once) and returns the
    /// names whose value changed; ``announceProperties(_:)`` tells listeners later.
    public func setPropertiesSilently(_ values: [String: BusValue]) -> Set<String> {
        registration.properties.set(values)
    }

    /// Emits one PropertiesChanged signal with the current values of `names`.
    public func announceProperties(_ names: Set<String>) {
        registration.properties.announce(names, with: announce)
    }

    /// Emits PropertiesChanged for `changed`; called under the values' lock, so that listeners
    /// see changes in the order they happened.
    private func announce(_ changed: [String: BusValue]) {
        try? connection.emitSignal(
            path: path,
            interface: "org.freedesktop.DBus.Properties",
            name: "PropertiesChanged",
            arguments: [.string(interface.name), .vardict(changed), .strings([])]
        )
    }

    /// Sets one property (see ``setProperties(_:)``).
    public func setProperty(_ name: String, _ value: BusValue) {
        setProperties([name: value])
    }

    /// Removes the object from the bus.
    public func unexport() {
        connection.router.remove(path: path, interface: interface.name)
        g_dbus_connection_unregister_object(connection.connection.raw, registrationID)
    }
}

extension BusConnection {
    /// Exports `interface` at `path`. Method calls go to `handler`; property reads are answered
    /// from the object's property values, starting with `properties`.
    public func export(
        path: String,
        interface: InterfaceDescription,
        properties: [String: BusValue] = [:],
        handler: @escaping BusMethodHandler
    ) async throws -> ExportedObject {
        let registration = ExportedObject.Registration(handler: handler, properties: properties)
        let box = CallbackBox(registration)
        let connection = self.connection
        let id = try await loop.run { () throws -> UInt32 in
            var vtable = GDBusInterfaceVTable()
            // Calls normally reach the handler through the connection's MethodCallRouter; GDBus
            // dispatches here only in the moment between registration and routing.
            vtable.method_call = { _, sender, path, interface, method, parameters, invocation, userData in
                let registration = CallbackBox<ExportedObject.Registration>.borrow(userData).value
                let call = BusMethodCall(
                    sender: sender.map { String(cString: $0) } ?? "",
                    path: String(cString: path!),
                    interface: String(cString: interface!),
                    method: String(cString: method!),
                    arguments: parameters.map { BusValue.children(of: $0) } ?? []
                )
                let invocation = GLibPointer(invocation!)
                Task { await ExportedObject.dispatch(call, to: registration.handler, replyingTo: invocation) }
            }
            vtable.get_property = { _, _, _, _, property, error, userData in
                let registration = CallbackBox<ExportedObject.Registration>.borrow(userData).value
                let name = String(cString: property!)
                if let value = registration.properties.value(name) {
                    return value.makeGVariant()
                }
                g_set_error_literal(error, g_dbus_error_quark(), Int32(G_DBUS_ERROR_UNKNOWN_PROPERTY.rawValue), "No such property \(name)")
                return nil
            }
            var error: UnsafeMutablePointer<GError>?
            let id = g_dbus_connection_register_object(
                connection.raw, path, interface.info, &vtable, box.retainedPointer(),
                AnyCallbackBox.release, &error
            )
            if id == 0 { throw BusError(consuming: error!) }
            return id
        }
        router.add(path: path, interface: interface, handler: handler)
        return ExportedObject(path: path, interface: interface, connection: self, registration: registration, registrationID: id)
    }
}

extension ExportedObject {
    /// Runs the handler and sends its reply (from any thread: GDBus allows it).
    fileprivate static func dispatch(_ call: BusMethodCall, to handler: BusMethodHandler, replyingTo invocation: GLibPointer) async {
        do {
            let reply = try await handler(call)
            g_dbus_method_invocation_return_value(invocation.raw, BusValue.makeTuple(reply))
        } catch let error as BusError {
            g_dbus_method_invocation_return_dbus_error(invocation.raw, error.name, error.message)
        } catch {
            g_dbus_method_invocation_return_dbus_error(invocation.raw, BusError.failed, "\(error)")
        }
    }
}
