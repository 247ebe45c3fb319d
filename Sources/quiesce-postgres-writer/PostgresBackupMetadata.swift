import Foundation
import Quiesce

/// What the writer stores with the cluster's component (its backup metadata) and needs at
/// restore: how the snapshot was made consistent and the files PostgreSQL needs to recover it.
struct PostgresBackupMetadata: Codable, Sendable, Hashable {
    /// How the cluster was made consistent.
    enum Mode: String, Codable, Sendable {
        /// The whole cluster was snapshotted at one instant (btrfs, freeze): a restore is a
        /// crash recovery, no backup mode was needed (a CHECKPOINT before the freeze shortens it).
        case oneInstant = "one-instant"
        /// `pg_backup_start`/`pg_backup_stop` around a snapshot taken over time: a restore
        /// needs `backup_label` (and `tablespace_map`) and the WAL up to `stop-lsn`, from the
        /// archive.
        case backupMode = "backup-mode"
    }

    var mode: Mode
    /// The cluster's directories at backup time.
    var layout: ClusterLayout
    /// The server's clock when the writers were frozen: everything committed before it is in
    /// the backup.
    var frozenAt: String?
    /// Backup mode: where the backup starts and ends in the WAL.
    var startLsn: String?
    var stopLsn: String?
    /// Backup mode: the contents of `backup_label` and `tablespace_map` from `pg_backup_stop`.
    var backupLabel: String?
    var tablespaceMap: String?

    func encoded() throws -> String { try JSONCoding.encode(self) }

    static func decode(_ text: String) throws -> PostgresBackupMetadata { try JSONCoding.decode(Self.self, from: text) }
}
