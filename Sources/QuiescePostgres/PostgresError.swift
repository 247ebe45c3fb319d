/// A failure of the PostgreSQL server or of the connection to it.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// The SQLSTATE code, when the server gave one (`57014`: the statement timed out or was
    /// cancelled; `08006`: the connection failed).
    public var sqlState: String?
    /// The server's or libpq's message, on one line.
    public var message: String
    /// Whether the connection is gone (the server is unreachable, stopped, or closed it).
    public var connectionLost: Bool

    /// Creates an error.
    public init(sqlState: String? = nil, message: String, connectionLost: Bool) {
        self.sqlState = sqlState
        self.message = message
        self.connectionLost = connectionLost
    }

    /// Whether the statement ran past `statement_timeout` (or was cancelled).
    public var isTimeout: Bool { sqlState == "57014" }

    public var description: String { message }
}
