import CMariaDB
import Dispatch

/// One connection to a MariaDB server through libmariadb, Debian's C client: every call runs
/// on the connection's own serial queue (the client blocks). Locks a session takes (`BACKUP
/// STAGE`, `FLUSH TABLES WITH READ LOCK`) hold as long as the connection: close it, or lose it,
/// and the server releases them.
public final class MariaDBConnection: @unchecked Sendable {
    private let queue = DispatchQueue(label: "org.quiesce.mariadb")
    /// Touched on `queue` only.
    private var raw: UnsafeMutablePointer<MYSQL>?

    private init(raw: UnsafeMutablePointer<MYSQL>) {
        self.raw = raw
    }

    deinit {
        if let raw { mysql_close(raw) }
    }

    /// Connects over a Unix socket as `user` (with `password`, if any), failing within
    /// `timeoutSeconds`.
    public static func connect(socket: String, user: String, password: String? = nil, timeoutSeconds: UInt32 = 5) async throws(MariaDBError) -> MariaDBConnection {
        let result: Result<MariaDBConnection, MariaDBError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                guard let raw = mysql_init(nil) else {
                    continuation.resume(returning: .failure(MariaDBError(code: 2002, message: "libmariadb could not allocate a connection")))
                    return
                }
                var timeout = timeoutSeconds
                mysql_options(raw, MYSQL_OPT_CONNECT_TIMEOUT, &timeout)
                guard mysql_real_connect(raw, "localhost", user, password, nil, 0, socket, 0) != nil else {
                    let error = Self.error(raw)
                    mysql_close(raw)
                    continuation.resume(returning: .failure(error))
                    return
                }
                continuation.resume(returning: .success(MariaDBConnection(raw: raw)))
            }
        }
        return try result.get()
    }

    /// Runs one statement; returns its rows (each value as text, `nil` for NULL), none for a
    /// statement without a result.
    @discardableResult
    public func query(_ sql: String) async throws(MariaDBError) -> [[String?]] {
        let result: Result<[[String?]], MariaDBError> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.run(sql)) }
        }
        return try result.get()
    }

    /// Closes the connection (the server releases the session's locks).
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                if let raw = self.raw { mysql_close(raw) }
                self.raw = nil
                continuation.resume()
            }
        }
    }

    /// On `queue`.
    private func run(_ sql: String) -> Result<[[String?]], MariaDBError> {
        guard let raw else { return .failure(MariaDBError(code: 2006, message: "the connection is closed")) }
        guard mysql_query(raw, sql) == 0 else { return .failure(Self.error(raw)) }
        guard let result = mysql_store_result(raw) else {
            return mysql_errno(raw) == 0 ? .success([]) : .failure(Self.error(raw))
        }
        defer { mysql_free_result(result) }
        let columns = Int(mysql_num_fields(result))
        var rows: [[String?]] = []
        while let row = mysql_fetch_row(result) {
            rows.append((0..<columns).map { row[$0].map { String(cString: $0) } })
        }
        return .success(rows)
    }

    private static func error(_ raw: UnsafeMutablePointer<MYSQL>) -> MariaDBError {
        MariaDBError(code: mysql_errno(raw), message: String(cString: mysql_error(raw)).split(whereSeparator: \.isNewline).joined(separator: " "))
    }
}
