import Foundation
import QuiesceMariaDB

/// Where a MariaDB server keeps its files, as the running server says: the data directory, and
/// the InnoDB, undo and binary-log directories when they are elsewhere.
struct ServerLayout: Codable, Sendable, Hashable {
    var dataDirectory: String
    /// Directories outside the data directory that the server writes (InnoDB data and redo,
    /// undo tablespaces, binary logs).
    var otherDirectories: [String]
    /// Whether the server has BACKUP STAGE (MariaDB 10.4 and later); else FLUSH TABLES WITH READ LOCK.
    var hasBackupStages: Bool

    /// Every directory of the server; a backup needs them all.
    var paths: [String] { [dataDirectory] + otherDirectories }

    /// Reads the layout from the server.
    static func read(from connection: MariaDBConnection) async throws -> ServerLayout {
        let rows = try await connection.query(
            "SELECT @@datadir, @@innodb_data_home_dir, @@innodb_log_group_home_dir, @@innodb_undo_directory, @@log_bin_basename, VERSION()"
        )
        guard let row = rows.first, let datadir = row[0] else { throw MariaDBError(code: 0, message: "the server did not say where its data directory is") }
        let dataDirectory = datadir.count > 1 && datadir.hasSuffix("/") ? String(datadir.dropLast()) : datadir
        func directory(_ value: String??) -> String? {
            guard let value = value ?? nil, !value.isEmpty, value != "./" else { return nil }
            let absolute = value.hasPrefix("/") ? value : dataDirectory + "/" + value
            return URL(fileURLWithPath: absolute).standardizedFileURL.path
        }
        let binlogDirectory = directory(row[4]).map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        let others = [directory(row[1]), directory(row[2]), directory(row[3]), binlogDirectory].compactMap { $0 }
            .filter { $0 != dataDirectory && !$0.hasPrefix(dataDirectory + "/") }
        let version = row[5] ?? ""
        let numbers = version.split(separator: "-").first?.split(separator: ".").compactMap { Int($0) } ?? []
        return ServerLayout(
            dataDirectory: dataDirectory, otherDirectories: Array(Set(others)).sorted(),
            hasBackupStages: version.contains("MariaDB") && (numbers.first ?? 0, numbers.dropFirst().first ?? 0) >= (10, 4)
        )
    }
}
