/// Which signals a subscription asks for: each non-nil field must match. The bus filters by it
/// (a match rule), so other signals never reach the process.
public struct SignalFilter: Sendable, Hashable {
    /// The sender: a unique name, or `org.freedesktop.DBus` for the bus's own signals (GDBus
    /// also follows a well-known name's owner; libdbus-1 connections compare unique names).
    public var sender: String?
    /// The signal's interface.
    public var interface: String?
    /// The signal's name.
    public var member: String?
    /// The object path it comes from.
    public var path: String?
    /// The first argument, a string.
    public var arg0: String?
    /// `arg0` matches itself and every name below it (`org.quiesce.Writer` matches
    /// `org.quiesce.Writer.notes`).
    public var arg0IsNamespace: Bool

    /// A filter on the given fields.
    public init(sender: String? = nil, interface: String? = nil, member: String? = nil, path: String? = nil, arg0: String? = nil, arg0IsNamespace: Bool = false) {
        self.sender = sender
        self.interface = interface
        self.member = member
        self.path = path
        self.arg0 = arg0
        self.arg0IsNamespace = arg0IsNamespace
    }

    /// The rule for `AddMatch` and `RemoveMatch`, values quoted as the specification says.
    package var rule: String {
        var parts = ["type='signal'"]
        let keys: [(String, String?)] = [
            ("sender", sender), ("interface", interface), ("member", member), ("path", path),
            (arg0IsNamespace ? "arg0namespace" : "arg0", arg0),
        ]
        for (key, value) in keys {
            guard let value else { continue }
            // Inside quotes only the quote itself needs escaping: close, escaped quote, reopen.
            parts.append("\(key)='\(value.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''"))'")
        }
        return parts.joined(separator: ",")
    }

    /// Whether `signal` is one this filter asks for (a connection gets every signal that any of
    /// its rules matches, and gives each subscription its own).
    package func matches(_ signal: BusSignal) -> Bool {
        if let sender, sender != signal.sender { return false }
        if let interface, interface != signal.interface { return false }
        if let member, member != signal.name { return false }
        if let path, path != signal.path { return false }
        if let arg0 {
            guard let first = signal.arguments.first?.stringValue else { return false }
            return arg0IsNamespace ? first == arg0 || first.hasPrefix(arg0 + ".") : first == arg0
        }
        return true
    }
}
