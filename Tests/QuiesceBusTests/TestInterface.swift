import QuiesceBus

/// The small interface the bus tests export (on libdbus-1, as writers and quiesced do).
enum TestInterface {
    static let name = "org.quiesce.Test1"

    static let xml = """
        <node>
          <interface name="org.quiesce.Test1">
            <method name="Echo"><arg name="value" type="v" direction="in"/><arg name="value" type="v" direction="out"/></method>
            <method name="Fail"/>
            <method name="FailBadly"/>
            <method name="Sleep"><arg name="milliseconds" type="u" direction="in"/></method>
            <method name="WhoAmI"><arg name="sender" type="s" direction="out"/></method>
            <signal name="Ping"><arg name="count" type="u"/></signal>
            <property name="Count" type="u" access="read"/>
          </interface>
        </node>
        """

    static func description() throws -> InterfaceDescription {
        try InterfaceDescription(xml: xml, name: name)
    }

    /// Echo returns its argument, Fail a named error (FailBadly one whose name is malformed),
    /// Sleep waits, WhoAmI names the caller.
    static let handler: BusMethodHandler = { call in
        switch call.method {
        case "Echo": return call.arguments
        case "Fail": throw BusError(name: "org.quiesce.Error.BadState", message: "not now")
        case "FailBadly": throw BusError(name: "not an error name", message: "oops")
        case "Sleep":
            try await Task.sleep(for: .milliseconds(Int64(call.arguments[0].uint64Value ?? 0)))
            return []
        case "WhoAmI": return [.string(call.sender)]
        default: throw BusError(name: BusError.failed, message: "unexpected")
        }
    }
}
