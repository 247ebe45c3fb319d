/// A failure of the MariaDB server or of the connection to it.
public struct MariaDBError: Error, CustomStringConvertible, Sendable {
    /// The server's error number (1205: a lock wait timed out; 2002, 2006, 2013: the connection
    /// failed or was lost).
    public var code: UInt32
    /// The message, on one line.
    public var message: String

    /// Creates an error.
    public init(code: UInt32, message: String) {
        self.code = code
        self.message = message
    }

    /// Whether the connection is gone (the server is unreachable, stopped, or closed it).
    public var connectionLost: Bool { [2002, 2003, 2006, 2013, 2055].contains(code) }

    /// Whether a lock could not be taken within `lock_wait_timeout`.
    public var isTimeout: Bool { code == 1205 }

    public var description: String { "\(message) (\(code))" }
}
