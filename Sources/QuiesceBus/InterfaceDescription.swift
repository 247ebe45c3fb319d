internal import CGLib

/// One D-Bus interface parsed from introspection XML, ready to be exported.
public final class InterfaceDescription: Sendable {
    /// The interface name, e.g. `org.quiesce.Writer1`.
    public let name: String
    /// Each method's input signature (its in-arguments' types, concatenated).
    public let inputSignatures: [String: String]
    /// The interface's `<interface>` element, as an `Introspect` reply carries it.
    public let introspectionXML: String

    /// Parses `xml` and picks the interface called `name`.
    public init(xml: String, name: String) throws {
        var error: UnsafeMutablePointer<GError>?
        guard let node = g_dbus_node_info_new_for_xml(xml, &error) else {
            throw BusError(consuming: error!)
        }
        guard let info = g_dbus_node_info_lookup_interface(node, name) else {
            g_dbus_node_info_unref(node)
            throw BusError(name: BusError.invalidArgs, message: "the XML does not declare interface \(name)")
        }
        defer { g_dbus_node_info_unref(node) }
        self.name = name
        var signatures: [String: String] = [:]
        var index = 0
        while let method = info.pointee.methods?[index] {
            signatures[String(cString: method.pointee.name)] = Self.names(method.pointee.in_args) { String(cString: $0.pointee.signature) }.joined()
            index += 1
        }
        self.inputSignatures = signatures
        let text = g_string_new(nil)!
        g_dbus_interface_info_generate_xml(info, 2, text)
        self.introspectionXML = String(cString: text.pointee.str)
        g_string_free(text, 1)
    }

    private static func names<T>(
        _ list: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?,
        _ name: (UnsafeMutablePointer<T>) -> String
    ) -> [String] {
        guard let list else { return [] }
        var result: [String] = []
        var index = 0
        while let item = list[index] {
            result.append(name(item))
            index += 1
        }
        return result
    }
}
