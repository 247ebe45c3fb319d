internal import CDBus
import QuiesceBus

/// An object a ``ServingConnection`` exports: one interface at one path, with its properties,
/// answering `Introspect` and `org.freedesktop.DBus.Properties` itself (libdbus-1 answers
/// `org.freedesktop.DBus.Peer`).
public final class ServedObject: Sendable {
    /// The object path.
    public let path: String
    /// The interface exported.
    public let interface: InterfaceDescription

    private let handle: ConnectionHandle
    private let handler: BusMethodHandler
    private let properties: PropertyValues
    private let unregister: @Sendable (ServedObject) -> Void

    init(
        path: String, interface: InterfaceDescription, properties: [String: BusValue], handle: ConnectionHandle,
        handler: @escaping BusMethodHandler, unregister: @escaping @Sendable (ServedObject) -> Void
    ) {
        self.path = path
        self.interface = interface
        self.handle = handle
        self.handler = handler
        self.properties = PropertyValues(properties)
        self.unregister = unregister
    }

    /// Removes the object from the bus: later calls to its path fail with `UnknownMethod`
    /// (calls already running still reply).
    public func unexport() {
        unregister(self)
    }

    /// The current value of a property.
    public func property(_ name: String) -> BusValue? {
        properties.value(name)
    }

    /// Sets properties without a signal (a property read sees them at once) and returns the
    /// names whose value changed; ``announceProperties(_:)`` tells listeners later.
    public func setPropertiesSilently(_ values: [String: BusValue]) -> Set<String> {
        properties.set(values)
    }

    /// Sets properties and emits one PropertiesChanged signal for those whose value changed.
    public func setProperties(_ values: [String: BusValue]) {
        properties.set(values, announcing: announce)
    }

    /// Sets one property (see ``setProperties(_:)``).
    public func setProperty(_ name: String, _ value: BusValue) {
        setProperties([name: value])
    }

    /// Emits one PropertiesChanged signal with the current values of `names`.
    public func announceProperties(_ names: Set<String>) {
        properties.announce(names, with: announce)
    }

    /// Emits PropertiesChanged for `changed`; called under the values' lock, so that listeners
    /// see changes in the order they happened.
    private func announce(_ changed: [String: BusValue]) {
        guard let signal = dbus_message_new_signal(path, Self.propertiesInterface, "PropertiesChanged") else { return }
        BusValue.append([.string(interface.name), .vardict(changed), .strings([])], to: signal)
        handle.send(signal)
        dbus_message_unref(signal)
    }

    // MARK: - Calls, on the loop's thread

    static let propertiesInterface = "org.freedesktop.DBus.Properties"
    private static let introspectableInterface = "org.freedesktop.DBus.Introspectable"

    /// The start of every introspection document.
    static let introspectionHeader = """
        <!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
        "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">

        """

    /// The standard interfaces every object has, as `Introspect` lists them.
    private static let standardInterfaces = """
          <interface name="org.freedesktop.DBus.Peer">
            <method name="Ping"/>
            <method name="GetMachineId"><arg type="s" name="machine_uuid" direction="out"/></method>
          </interface>
          <interface name="org.freedesktop.DBus.Introspectable">
            <method name="Introspect"><arg type="s" name="xml_data" direction="out"/></method>
          </interface>
          <interface name="org.freedesktop.DBus.Properties">
            <method name="Get">
              <arg type="s" name="interface_name" direction="in"/><arg type="s" name="property_name" direction="in"/>
              <arg type="v" name="value" direction="out"/>
            </method>
            <method name="GetAll">
              <arg type="s" name="interface_name" direction="in"/><arg type="a{sv}" name="properties" direction="out"/>
            </method>
            <method name="Set">
              <arg type="s" name="interface_name" direction="in"/><arg type="s" name="property_name" direction="in"/>
              <arg type="v" name="value" direction="in"/>
            </method>
            <signal name="PropertiesChanged">
              <arg type="s" name="interface_name"/><arg type="a{sv}" name="changed_properties"/>
              <arg type="as" name="invalidated_properties"/>
            </signal>
          </interface>

        """

    /// Whether `message` is a call of `Introspect` (with or without its interface).
    static func isIntrospect(_ message: OpaquePointer) -> Bool {
        isIntrospect(interface: dbus_message_get_interface(message).map { String(cString: $0) }, member: dbus_message_get_member(message).map { String(cString: $0) })
    }

    private static func isIntrospect(interface: String?, member: String?) -> Bool {
        member == "Introspect" && (interface == nil || interface == introspectableInterface)
    }

    /// `<node name="…"/>` for each child node, as `Introspect` lists them.
    static func nodes(_ children: [String]) -> String {
        children.map { "  <node name=\"\($0)\"/>\n" }.joined()
    }

    /// Answers a method call to this object: the interface's methods go to the handler in a
    /// task of their own, whose reply is written from that task. `children` gives the nodes
    /// below the object that `Introspect` lists (looked up only for `Introspect`).
    func received(_ message: OpaquePointer, children: () -> [String]) {
        let interfaceName = dbus_message_get_interface(message).map { String(cString: $0) }
        let member = dbus_message_get_member(message).map { String(cString: $0) } ?? ""
        let signature = dbus_message_get_signature(message).map { String(cString: $0) } ?? ""
        if Self.isIntrospect(interface: interfaceName, member: member) {
            handle.reply(to: message, [.string(Self.introspectionHeader + "<node>\n" + Self.standardInterfaces + interface.introspectionXML + Self.nodes(children()) + "</node>\n")])
        } else if interfaceName == Self.propertiesInterface {
            answerProperties(message, member: member, signature: signature)
        } else if interfaceName == nil || interfaceName == interface.name {
            guard let expected = interface.inputSignatures[member] else {
                return handle.reply(to: message, error: "org.freedesktop.DBus.Error.UnknownMethod", "No such method “\(member)”")
            }
            guard signature == expected else {
                return handle.reply(to: message, error: BusError.invalidArgs, "Type of message, “(\(signature))”, does not match expected type “(\(expected))”")
            }
            dispatch(BusMethodCall(
                sender: dbus_message_get_sender(message).map { String(cString: $0) } ?? "",
                path: path, interface: interface.name, method: member, arguments: BusValue.arguments(of: message)
            ), replyingTo: message)
        } else {
            handle.reply(to: message, error: "org.freedesktop.DBus.Error.UnknownMethod", "No such interface “\(interfaceName ?? "")” on object at path \(path)")
        }
    }

    private func dispatch(_ call: BusMethodCall, replyingTo message: OpaquePointer) {
        let request = LibDBusPointer(dbus_message_ref(message))
        Task { [handler, handle] in
            do {
                handle.reply(to: request.raw, try await handler(call))
            } catch let error as BusError {
                handle.reply(to: request.raw, error: error.name, error.message)
            } catch {
                handle.reply(to: request.raw, error: BusError.failed, "\(error)")
            }
            dbus_message_unref(request.raw)
        }
    }

    private func answerProperties(_ message: OpaquePointer, member: String, signature: String) {
        let arguments = BusValue.arguments(of: message)
        let expected = ["Get": "ss", "GetAll": "s", "Set": "ssv"][member]
        guard let expected else {
            return handle.reply(to: message, error: "org.freedesktop.DBus.Error.UnknownMethod", "No such method “\(member)”")
        }
        guard signature == expected else {
            return handle.reply(to: message, error: BusError.invalidArgs, "Type of message, “(\(signature))”, does not match expected type “(\(expected))”")
        }
        guard arguments[0].stringValue == interface.name else {
            return handle.reply(to: message, error: BusError.invalidArgs, "No such interface “\(arguments[0].stringValue ?? "")”")
        }
        switch member {
        case "GetAll":
            handle.reply(to: message, [.vardict(properties.all)])
        case "Get":
            let name = arguments[1].stringValue ?? ""
            if let value = property(name) {
                handle.reply(to: message, [.variant(value)])
            } else {
                handle.reply(to: message, error: "org.freedesktop.DBus.Error.UnknownProperty", "No such property “\(name)”")
            }
        default:
            handle.reply(to: message, error: "org.freedesktop.DBus.Error.PropertyReadOnly", "Property “\(arguments[1].stringValue ?? "")” is not writable")
        }
    }
}
