import Foundation
import Logging
import QuiesceFiles
import QuiescePostgres
import QuiesceServiceControl
import QuiesceWriter

/// How the writer reaches and restores its cluster.
struct PostgresWriterSettings: Sendable {
    /// libpq connection string for the writer's own connections.
    var connection: String
    /// The data directory, for Identify before the server was ever reached.
    var dataDirectory: String?
    /// `restore_command` written into a restored cluster (how it fetches archived WAL).
    var restoreCommand: String?
    /// The systemd unit that runs the server: stopped before a restore over it, started after.
    var service: SystemdUnit?
    /// The longest `pg_backup_start` may take (it waits for a checkpoint).
    var backupStartTimeout: Duration
    /// The longest `pg_backup_stop` may wait for the WAL it needs to be archived.
    var backupStopTimeout: Duration
}

/// A Quiesce writer for one PostgreSQL cluster.
///
/// - Identify: the data directory, WAL directory and every tablespace, as the server reports
///   them, in one `database` component; restore method stop-restore-start.
/// - PrepareForBackup: a connection held for the session (server unreachable: `retryable`);
///   a directory of the cluster outside the snapshot set: `inconsistent-snapshot` with the path.
/// - PrepareForSnapshot: when the whole cluster is on volumes captured at one instant
///   (`snapshot-groups`), a CHECKPOINT and nothing more; otherwise `pg_backup_start(label,
///   fast)` on the held connection (past `--backup-start-timeout`: `timeout`), provided the
///   server archives its WAL (else a veto: the restore could not reach consistency).
/// - PostSnapshot: `pg_backup_stop()`, its `backup_label` and `tablespace_map` stored as the
///   component's backup metadata; a connection lost in between fails the backup for this writer.
/// - Abort, BackupShutdown, the lease or quiesced going away: the connection is closed, which
///   ends the backup mode.
/// - PreRestore over the live cluster: the server must be stopped (or is stopped through
///   `--service`). PostRestore: `backup_label`, `tablespace_map` and, with `--restore-command`,
///   `recovery.signal` written back, a stale `postmaster.pid` removed, the service started.
final class PostgresWriter: Writer, @unchecked Sendable {
    static let componentName = "cluster"
    let settings: PostgresWriterSettings
    private let sessions = ClusterSessions()
    private let logger: Logger

    init(name: String, settings: PostgresWriterSettings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        try super.init(
            name: name, classId: "0b5a4f1e-8c3d-4e6a-9f21-7d0c2b9e5a44", applicationLevel: .backEnd,
            freezeTimeout: .seconds(60), restoreMethod: .stopRestoreStart
        )
    }

    /// A new connection, failing within a few seconds when the server is not there.
    private func connect() async throws(PostgresError) -> PostgresConnection {
        try await PostgresConnection.connect(settings.connection + " connect_timeout=5 application_name=quiesce-\(name)")
    }

    /// The layout now, or the last one known, or the configured data directory.
    private func currentLayout() async -> ClusterLayout? {
        if let connection = try? await connect() {
            let layout = try? await ClusterLayout.read(from: connection)
            await connection.close()
            if let layout {
                await sessions.remember(layout)
                return layout
            }
        }
        if let layout = await sessions.lastLayout { return layout }
        return settings.dataDirectory.map {
            ClusterLayout(dataDirectory: $0, walDirectory: $0 + "/pg_wal", tablespaces: [:], archiveMode: "off", archiveCommand: "", archiveLibrary: "")
        }
    }

    override func onIdentify(_ metadata: inout WriterMetadata) async throws {
        guard let layout = await currentLayout() else {
            throw PostgresError(message: "the server is not reachable (\(settings.connection)) and no --data-directory was given", connectionLost: true)
        }
        metadata.components = [
            Component(
                logicalPath: "postgresql", name: Self.componentName, type: .database,
                caption: "PostgreSQL cluster \(layout.dataDirectory)",
                files: layout.paths.map { FileSpec(path: $0, recursive: true) }
            )
        ]
    }

    override func onPrepareBackup(_ session: WriterSession) async throws -> Bool {
        let connection: PostgresConnection
        let layout: ClusterLayout
        do {
            connection = try await connect()
            layout = try await ClusterLayout.read(from: connection)
        } catch {
            try setWriterFailure(.retryable, message: "the PostgreSQL server is not reachable: \(error)")
            return false
        }
        await sessions.remember(layout)
        await sessions.start(session.id, .init(connection: connection, layout: layout))
        return try vetoUnlessFilesAreInSnapshotSet(layout.paths, session)
    }

    override func onPrepareSnapshot(_ session: WriterSession) async throws -> Bool {
        guard let backup = await sessions.backup(session.id) else {
            try setWriterFailure(.nonRetryable, message: "PrepareForSnapshot without PrepareForBackup in this session")
            return false
        }
        if session.isOneInstant(backup.layout.paths) {
            do {
                try await backup.connection.query("CHECKPOINT")
            } catch {
                return try lost(error, "CHECKPOINT")
            }
            await sessions.update(session.id) { $0.mode = .oneInstant }
            logger.info("the whole cluster is snapshotted at one instant: no backup mode (a checkpoint shortens the recovery)")
            return true
        }
        guard backup.layout.archivesWAL else {
            try setWriterFailure(.nonRetryable, message: """
                the snapshot set copies \(backup.layout.dataDirectory) over time (its provider takes no instant snapshot) and the \
                server does not archive its WAL (archive_mode \(backup.layout.archiveMode)): a restore could not replay to a \
                consistent state. Turn on WAL archiving, or put the whole cluster on one btrfs volume or use the freeze provider
                """)
            return false
        }
        if let other = await sessions.otherBackupMode(than: session.id) {
            try setWriterFailure(.retryable, message: "session \(other) has the cluster in backup mode; try again when it is done")
            return false
        }
        do {
            try await backup.connection.query("SELECT set_config('statement_timeout', $1, false)", ["\(settings.backupStartTimeout.components.seconds)s"])
            let rows = try await backup.connection.query("SELECT pg_backup_start($1, true)", ["quiesce \(name) \(session.id)"])
            try await backup.connection.query("SELECT set_config('statement_timeout', '0', false)")
            await sessions.update(session.id) {
                $0.mode = .backupMode
                $0.inBackupMode = true
                $0.startLsn = rows.first?.first ?? nil
            }
            logger.info("pg_backup_start at \(rows.first?.first.flatMap { $0 } ?? "?") for session \(session.id)")
            return true
        } catch let error where error.isTimeout {
            try setWriterFailure(.timeout, message: "pg_backup_start took longer than \(settings.backupStartTimeout) (it waits for a checkpoint); raise --backup-start-timeout or try again")
            return false
        } catch {
            return try lost(error, "pg_backup_start")
        }
    }

    override func onFreeze(_ session: WriterSession) async throws -> Bool {
        guard let backup = await sessions.backup(session.id) else { return true }
        do {
            let now = try await backup.connection.query("SELECT clock_timestamp()")
            await sessions.update(session.id) { $0.frozenAt = now.first?.first ?? nil }
            return true
        } catch {
            return try lost(error, "Freeze")
        }
    }

    override func onPostSnapshot(_ session: WriterSession) async throws -> Bool {
        guard let backup = await sessions.backup(session.id), let mode = backup.mode else { return true }
        var metadata = PostgresBackupMetadata(mode: mode, layout: backup.layout, frozenAt: backup.frozenAt, startLsn: backup.startLsn)
        if mode == .backupMode {
            do {
                try await backup.connection.query("SELECT set_config('statement_timeout', $1, false)", ["\(settings.backupStopTimeout.components.seconds)s"])
                let rows = try await backup.connection.query("SELECT lsn, labelfile, spcmapfile FROM pg_backup_stop(true)")
                await sessions.update(session.id) { $0.inBackupMode = false }
                metadata.stopLsn = rows.first?[0] ?? nil
                metadata.backupLabel = rows.first?[1] ?? nil
                metadata.tablespaceMap = rows.first?[2] ?? nil
                logger.info("pg_backup_stop at \(metadata.stopLsn ?? "?") for session \(session.id)")
            } catch let error where error.isTimeout {
                try setWriterFailure(.timeout, message: "pg_backup_stop waited longer than \(settings.backupStopTimeout) for the WAL to be archived; is archive_command working?")
                return false
            } catch {
                return try lost(error, "pg_backup_stop")
            }
        }
        try setBackupMetadata(try metadata.encoded(), component: "postgresql/\(Self.componentName)")
        return true
    }

    override func onAbort(_ session: WriterSession) async throws -> Bool {
        await sessions.end(session.id)
        return true
    }

    override func onBackupShutdown(_ session: WriterSession) async throws -> Bool {
        await sessions.end(session.id)
        return true
    }

    /// The connection failed mid-backup: the backup fails for this writer, never silently.
    private func lost(_ error: any Error, _ step: String) throws -> Bool {
        let connectionLost = (error as? PostgresError)?.connectionLost ?? false
        try setWriterFailure(
            connectionLost ? .nonRetryable : .retryable,
            message: connectionLost
                ? "the connection to PostgreSQL was lost during the backup (\(step)): \(error); the backup mode ended with it, so this snapshot cannot be restored consistently"
                : "\(step) failed: \(error)"
        )
        return false
    }

    // MARK: - Restore

    override func onPreRestore(_ session: WriterSession) async throws -> Bool {
        try await stopServerForRestore(session, application: "PostgreSQL", unit: settings.service) {
            guard let connection = try? await connect() else { return false }
            await connection.close()
            return true
        }
    }

    override func onPostRestore(_ session: WriterSession) async throws -> Bool {
        let restored: Bool
        do {
            restored = try putBackRecoveryFiles(session)
        } catch {
            _ = try await startServerAfterRestore(session, unit: settings.service)
            throw error
        }
        return try await startServerAfterRestore(session, unit: settings.service) && restored
    }

    /// What the restored cluster needs to recover: no stale pid file; in backup mode its
    /// backup_label, tablespace_map and (with --restore-command) recovery.signal.
    private func putBackRecoveryFiles(_ session: WriterSession) throws -> Bool {
        guard session.backupSucceeded != false, let text = session.backupMetadata["postgresql/\(Self.componentName)"] else { return true }
        let metadata = try PostgresBackupMetadata.decode(text)
        let target = session.restoredPath(of: metadata.layout.dataDirectory)
        let directory = try DirectoryHandle.open(absolute: target)
        let owner = try directory.status()
        let write = { (name: String, text: String) throws in
            try directory.writeFileAtomically(FileName(name)!, Array(text.utf8), mode: 0o600, owner: (owner.uid, owner.gid))
        }
        // Only a file: a directory by that name is not the server's and is left alone.
        if try directory.status(FileName("postmaster.pid")!)?.kind == .regular { try directory.removeTree(FileName("postmaster.pid")!) }
        guard metadata.mode == .backupMode else {
            if session.restoreTarget == .alternate, !metadata.layout.tablespaces.isEmpty {
                // pg_tblspc's links still name the live tablespaces: starting this copy would use them.
                try setPostRestoreFailureMessage(
                    "the links in \(target)/pg_tblspc point at the live tablespaces (\(metadata.layout.tablespaces.values.sorted().joined(separator: ", "))): point them at the restored copies before starting this cluster",
                    component: "postgresql/\(Self.componentName)"
                )
            }
            return true
        }
        try write("backup_label", metadata.backupLabel ?? "")
        if let map = metadata.tablespaceMap, !map.isEmpty {
            // Each line is "oid path": a restore elsewhere points the tablespaces elsewhere too.
            try write("tablespace_map", map.split(separator: "\n").map { line in
                guard let space = line.firstIndex(of: " ") else { return String(line) }
                return String(line[..<space]) + " " + session.restoredPath(of: String(line[line.index(after: space)...]))
            }.joined(separator: "\n") + "\n")
        }
        guard let restoreCommand = settings.restoreCommand else {
            try setPostRestoreFailureMessage(
                "restored from a backup taken in backup mode: set restore_command (the writer's --restore-command) so the server fetches WAL up to \(metadata.stopLsn ?? "the end of the backup") from your archive, and create recovery.signal",
                component: "postgresql/\(Self.componentName)"
            )
            return true
        }
        try write("recovery.signal", "")
        let autoConf = FileName("postgresql.auto.conf")!
        let existing = (try? directory.readFile(autoConf, limit: 1 << 20)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let quoted = restoreCommand.replacingOccurrences(of: "'", with: "''")
        try write("postgresql.auto.conf", existing + (existing.hasSuffix("\n") || existing.isEmpty ? "" : "\n") + "# quiesce: fetch the WAL of the backup from the archive\nrestore_command = '\(quoted)'\n")
        return true
    }
}
