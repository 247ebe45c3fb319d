import Quiesce

/// What the writer stores with the server's component (its backup metadata): where the binary
/// log stood while commits were blocked (to start a replica, or replay past the backup), and
/// how long writes were held.
struct MariaDBBackupMetadata: Codable, Sendable, Hashable {
    var layout: ServerLayout
    /// The lock held during the snapshot: `backup-stage-block-commit` or `flush-tables-with-read-lock`.
    var lock: String
    /// The server's clock when commits were blocked: everything committed before it is in the backup.
    var frozenAt: String?
    /// `@@gtid_binlog_pos` while blocked.
    var gtidBinlogPosition: String?
    /// `SHOW MASTER STATUS` while blocked (when the binary log is on).
    var binlogFile: String?
    var binlogPosition: String?
    /// How long commits were blocked (the write stall), in milliseconds.
    var heldMilliseconds: Double?

    func encoded() throws -> String { try JSONCoding.encode(self) }
}
