import CLibPQ
import Dispatch
import Glibc

/// One connection to a PostgreSQL server through libpq, Debian's C client library: every call
/// runs on the connection's own serial queue (libpq blocks), so that tasks never wait on a
/// thread they share. Session state (a backup started with `pg_backup_start`) lives as long as
/// the connection: close it, or lose it, and the server ends what the session began.
public final class PostgresConnection: @unchecked Sendable {
    private let queue = DispatchQueue(label: "org.quiesce.postgres")
    /// Touched on `queue` only.
    private var raw: OpaquePointer?

    private init(raw: OpaquePointer) {
        self.raw = raw
    }

    deinit {
        if let raw { PQfinish(raw) }
    }

    /// Connects with a libpq connection string (`host=/run/postgresql dbname=postgres
    /// user=backup connect_timeout=5 application_name=quiesce`).
    public static func connect(_ connectionString: String) async throws(PostgresError) -> PostgresConnection {
        let result: Result<PostgresConnection, PostgresError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                guard let raw = PQconnectdb(connectionString) else {
                    continuation.resume(returning: .failure(PostgresError(message: "libpq could not allocate a connection", connectionLost: true)))
                    return
                }
                guard PQstatus(raw) == CONNECTION_OK else {
                    let message = Self.message(PQerrorMessage(raw))
                    PQfinish(raw)
                    continuation.resume(returning: .failure(PostgresError(sqlState: "08006", message: message, connectionLost: true)))
                    return
                }
                continuation.resume(returning: .success(PostgresConnection(raw: raw)))
            }
        }
        return try result.get()
    }

    /// Runs one statement with text parameters (`$1`, `$2` ...); returns its rows, each value
    /// as text or `nil` for NULL.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) async throws(PostgresError) -> [[String?]] {
        let result: Result<[[String?]], PostgresError> = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.run(sql, parameters)) }
        }
        return try result.get()
    }

    /// Whether the connection is still up, as far as libpq knows.
    public var isOpen: Bool {
        get async { await withCheckedContinuation { continuation in queue.async { continuation.resume(returning: self.raw.map { PQstatus($0) == CONNECTION_OK } ?? false) } } }
    }

    /// Closes the connection (the server ends the session's backup, if one is running).
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                if let raw = self.raw { PQfinish(raw) }
                self.raw = nil
                continuation.resume()
            }
        }
    }

    /// On `queue`.
    private func run(_ sql: String, _ parameters: [String?]) -> Result<[[String?]], PostgresError> {
        guard let raw else { return .failure(PostgresError(message: "the connection is closed", connectionLost: true)) }
        let result = withTextParameters(parameters) { values in
            PQexecParams(raw, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        defer { PQclear(result) }
        guard let result else {
            return .failure(PostgresError(message: Self.message(PQerrorMessage(raw)), connectionLost: PQstatus(raw) != CONNECTION_OK))
        }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
            let rows = Int(PQntuples(result))
            let columns = Int(PQnfields(result))
            return .success((0..<rows).map { row in
                (0..<columns).map { column in
                    PQgetisnull(result, Int32(row), Int32(column)) == 1 ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
                }
            })
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            return .failure(PostgresError(sqlState: state, message: Self.message(PQresultErrorMessage(result)), connectionLost: PQstatus(raw) != CONNECTION_OK))
        }
    }

    /// Calls `body` with the parameters as C strings (NULL for `nil`).
    private func withTextParameters<T>(_ parameters: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T) -> T {
        var pointers: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.flatMap { strdup($0) } }
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(buffer.count, 1)) { body(parameters.isEmpty ? nil : $0) }
        }
    }

    private static func message(_ text: UnsafePointer<CChar>?) -> String {
        (text.map { String(cString: $0) } ?? "unknown error").split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
