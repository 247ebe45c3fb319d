import QuiescePostgres

/// The writer's backups in progress, by session: each holds its own connection to the server,
/// because `pg_backup_start` and `pg_backup_stop` must run on the same one (closing it, or
/// losing it, ends the backup mode on the server).
actor ClusterSessions {
    /// One session's backup.
    struct Backup {
        var connection: PostgresConnection
        var layout: ClusterLayout
        var mode: PostgresBackupMetadata.Mode?
        var startLsn: String?
        var frozenAt: String?
        /// Whether `pg_backup_start` ran and `pg_backup_stop` has not.
        var inBackupMode = false
    }

    private var backups: [String: Backup] = [:]
    /// The last layout the server gave: Identify uses it when the server is down.
    private(set) var lastLayout: ClusterLayout?

    func remember(_ layout: ClusterLayout) { lastLayout = layout }

    func start(_ session: String, _ backup: Backup) { backups[session] = backup }

    func backup(_ session: String) -> Backup? { backups[session] }

    func update(_ session: String, _ change: (inout Backup) -> Void) {
        if var backup = backups[session] {
            change(&backup)
            backups[session] = backup
        }
    }

    /// Another session's backup mode, if one is running (the server allows one per connection,
    /// and two at once would confuse whoever restores).
    func otherBackupMode(than session: String) -> String? {
        backups.first { $0.key != session && $0.value.inBackupMode }?.key
    }

    /// Ends a session: its connection is closed, which ends a backup mode still running.
    func end(_ session: String) async {
        guard let backup = backups.removeValue(forKey: session) else { return }
        await backup.connection.close()
    }
}
