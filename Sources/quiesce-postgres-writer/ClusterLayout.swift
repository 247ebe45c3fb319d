import Foundation
import QuiescePostgres

/// Where a PostgreSQL cluster keeps its files, as the running server says (not a config file):
/// the data directory, the WAL directory (pg_wal, or where its symlink points) and every
/// tablespace; and whether it archives WAL.
struct ClusterLayout: Codable, Sendable, Hashable {
    var dataDirectory: String
    var walDirectory: String
    /// Tablespace name → its directory.
    var tablespaces: [String: String]
    /// `archive_mode` (`off`, `on`, `always`).
    var archiveMode: String
    /// `archive_command` (empty: none; `archive_library` may archive instead).
    var archiveCommand: String
    var archiveLibrary: String

    /// Every directory of the cluster; a backup needs them all.
    var paths: [String] {
        var paths = [dataDirectory]
        if !walDirectory.hasPrefix(dataDirectory + "/") { paths.append(walDirectory) }
        return paths + tablespaces.values.sorted()
    }

    /// Whether finished WAL segments are archived somewhere, so a restore can fetch the WAL
    /// written after the snapshot up to the end of the backup.
    var archivesWAL: Bool {
        archiveMode != "off" && !(archiveCommand.isEmpty && archiveLibrary.isEmpty)
    }

    /// Reads the layout from the server.
    static func read(from connection: PostgresConnection) async throws -> ClusterLayout {
        let settings = try await connection.query(
            "SELECT current_setting('data_directory'), current_setting('archive_mode'), current_setting('archive_command'), current_setting('archive_library')"
        )
        guard let row = settings.first, let dataDirectory = row[0] else { throw PostgresError(message: "the server did not say where its data directory is", connectionLost: false) }
        let spaces = try await connection.query(
            "SELECT spcname, pg_tablespace_location(oid) FROM pg_tablespace WHERE pg_tablespace_location(oid) <> '' ORDER BY spcname"
        )
        let wal = dataDirectory + "/pg_wal"
        return ClusterLayout(
            dataDirectory: dataDirectory,
            walDirectory: URL(fileURLWithPath: wal).resolvingSymlinksInPath().path,
            tablespaces: Dictionary(spaces.compactMap { row in row[0].flatMap { name in row[1].map { (name, $0) } } }, uniquingKeysWith: { $1 }),
            archiveMode: row[1] ?? "off", archiveCommand: row[2] ?? "", archiveLibrary: row[3] ?? ""
        )
    }
}
