/// An error with a D-Bus error name: thrown by a method handler to reply with that error,
/// and thrown by ``BusConnection/call(destination:path:interface:method:arguments:timeout:)``
/// when the peer answers with one.
public struct BusError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The D-Bus error name, e.g. `org.quiesce.Error.BadState`.
    public var name: String
    /// The human-readable message.
    public var message: String

    /// Creates an error.
    public init(name: String, message: String) {
        self.name = name
        self.message = message
    }

    /// `name: message`.
    public var description: String { "\(name): \(message)" }

    /// The call timed out before a reply came.
    public var isTimeout: Bool { name == Self.timeout || name == Self.timedOut }

    /// The peer is gone: it left the bus, or the name had no owner.
    public var isPeerGone: Bool {
        [Self.noReply, Self.serviceUnknown, Self.nameHasNoOwner, Self.disconnected].contains(name)
    }

    /// `org.freedesktop.DBus.Error.Timeout`.
    public static let timeout = "org.freedesktop.DBus.Error.Timeout"
    /// `org.freedesktop.DBus.Error.TimedOut`.
    public static let timedOut = "org.freedesktop.DBus.Error.TimedOut"
    /// `org.freedesktop.DBus.Error.NoReply`: the peer left without replying.
    public static let noReply = "org.freedesktop.DBus.Error.NoReply"
    /// `org.freedesktop.DBus.Error.ServiceUnknown`.
    public static let serviceUnknown = "org.freedesktop.DBus.Error.ServiceUnknown"
    /// `org.freedesktop.DBus.Error.NameHasNoOwner`.
    public static let nameHasNoOwner = "org.freedesktop.DBus.Error.NameHasNoOwner"
    /// `org.freedesktop.DBus.Error.Disconnected`: our own connection is closed.
    public static let disconnected = "org.freedesktop.DBus.Error.Disconnected"
    /// `org.freedesktop.DBus.Error.InvalidArgs`.
    public static let invalidArgs = "org.freedesktop.DBus.Error.InvalidArgs"
    /// `org.freedesktop.DBus.Error.Failed`.
    public static let failed = "org.freedesktop.DBus.Error.Failed"
    /// `org.freedesktop.DBus.Error.AccessDenied`.
    public static let accessDenied = "org.freedesktop.DBus.Error.AccessDenied"
}
