import QuiesceBus

/// The one error type of Quiesce's API: a code, a message for people, and the error that
/// caused it. At the bus boundary it becomes a D-Bus error named by its code, and a D-Bus
/// error becomes one of these; code never reads message text to tell errors apart.
public struct QuiesceError: Error, Sendable, CustomStringConvertible {
    /// What kind of error: a D-Bus error name. The `org.quiesce.Error.*` codes are generated
    /// from the interface files (``declared``, among them ``failed`` for anything else that went
    /// wrong); the others name D-Bus's own errors and what only a caller sees.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The D-Bus error name, e.g. `org.quiesce.Error.BadState`.
        public let rawValue: String

        /// A code by its D-Bus error name.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// The last element of the name: `BadState`.
        public var description: String { String(rawValue.split(separator: ".").last ?? "") }

        /// No reply came in time.
        public static let timeout = Self(rawValue: BusError.timeout)
        /// The peer is not on the bus, or left before it replied.
        public static let peerGone = Self(rawValue: BusError.noReply)
        /// The peer has no such method.
        public static let unknownMethod = Self(rawValue: "org.freedesktop.DBus.Error.UnknownMethod")
        /// A reply that breaks the contract (missing or mistyped values, JSON that does not
        /// decode).
        public static let invalidReply = Self(rawValue: "org.quiesce.Error.InvalidReply")
    }

    /// What kind of error.
    public var code: Code
    /// What happened, for people.
    public var message: String
    /// The error that caused this one, if any.
    public var cause: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// `error` as a QuiesceError: itself, a D-Bus error by its name (a peer that left or a
    /// name without owner as ``Code/peerGone``, both timeouts as ``Code/timeout``), or
    /// anything else as ``Code/failed`` with it as the cause.
    public init(_ error: any Error) {
        switch error {
        case let error as QuiesceError:
            self = error
        case let error as BusError:
            let code: Code = error.isTimeout ? .timeout : error.isPeerGone ? .peerGone : Code(rawValue: error.name)
            self.init(code, error.message, cause: error)
        default:
            self.init(.failed, "\(error)", cause: error)
        }
    }

    /// The D-Bus error a server answers with.
    public var busError: BusError { BusError(name: code.rawValue, message: message) }

    /// The message; D-Bus's own errors keep their name in parentheses, since the message alone
    /// may not say what happened.
    public var description: String {
        code.rawValue.hasPrefix("org.quiesce.") ? message : "\(message) (\(code.rawValue))"
    }
}
