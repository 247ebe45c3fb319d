import Foundation
import Logging
import QuiesceFiles
import QuiesceMariaDB
import QuiesceServiceControl
import QuiesceWriter
import Synchronization

/// How the writer reaches and restores its server.
struct MariaDBWriterSettings: Sendable {
    var socket: String
    var user: String
    var password: String?
    /// The data directory, for Identify before the server was ever reached.
    var dataDirectory: String?
    /// The systemd unit of the server: stopped before a restore over it, started after.
    var service: SystemdUnit?
    /// How long a lock may be waited for (`lock_wait_timeout`).
    var lockTimeout: Duration
}

/// A Quiesce writer for one MariaDB server.
///
/// - PrepareForBackup: a connection held for the session (server unreachable: `retryable`); a
///   directory of the server outside the snapshot set: `inconsistent-snapshot`.
/// - PrepareForSnapshot: the snapshot must capture all the server's directories at one instant
///   (`snapshot-groups`; btrfs, freeze): a copy taken over time is not consistent for InnoDB even
///   with commits blocked (it keeps flushing and moving its checkpoint), so otherwise the writer
///   vetoes with `inconsistent-snapshot`. Then `BACKUP STAGE START` and `FLUSH`.
/// - Freeze: `BACKUP STAGE BLOCK_DDL` and `BLOCK_COMMIT` (FLUSH TABLES WITH READ LOCK on a
///   server without backup stages), past `--lock-timeout`: `timeout`; the binary log position.
/// - Thaw: the lock still held (else the snapshot may not be consistent: `non-retryable`), then
///   `BACKUP STAGE END`. Abort, BackupShutdown, the lease, quiesced going away: the connection
///   is closed, which releases the lock.
/// - PreRestore over the live server: it must be stopped (or is, through `--service`).
///   PostRestore: a stale pid file removed, the service started.
final class MariaDBWriter: Writer, @unchecked Sendable {
    static let component = "mariadb/server"
    let settings: MariaDBWriterSettings
    private let logger: Logger
    private let backup = Mutex<HeldBackup?>(nil)
    private let lastLayout = Mutex<ServerLayout?>(nil)

    /// The one backup the server allows at a time.
    struct HeldBackup: Sendable {
        var session: String
        var connection: MariaDBConnection
        var layout: ServerLayout
        var metadata: MariaDBBackupMetadata
        var frozenSince: ContinuousClock.Instant?
    }

    init(name: String, settings: MariaDBWriterSettings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        try super.init(
            name: name, classId: "5d6c1b7a-3e2f-4a90-8b1c-2f7e9d4a6c13", applicationLevel: .backEnd,
            freezeTimeout: .seconds(60), restoreMethod: .stopRestoreStart
        )
    }

    private func connect() async throws(MariaDBError) -> MariaDBConnection {
        try await MariaDBConnection.connect(socket: settings.socket, user: settings.user, password: settings.password)
    }

    override func onIdentify(_ metadata: inout WriterMetadata) async throws {
        var layout = lastLayout.withLock { $0 }
        if let connection = try? await connect() {
            if let read = try? await ServerLayout.read(from: connection) {
                layout = read
                lastLayout.withLock { $0 = read }
            }
            await connection.close()
        }
        guard let layout = layout ?? settings.dataDirectory.map({ ServerLayout(dataDirectory: $0, otherDirectories: [], hasBackupStages: true) }) else {
            throw MariaDBError(code: 2002, message: "the server is not reachable at \(settings.socket) and no --data-directory was given")
        }
        metadata.components = [
            Component(
                logicalPath: "mariadb", name: "server", type: .database, caption: "MariaDB server \(layout.dataDirectory)",
                files: layout.paths.map { FileSpec(path: $0, recursive: true) }
            )
        ]
    }

    override func onPrepareBackup(_ session: WriterSession) async throws -> Bool {
        if let other = backup.withLock({ $0?.session }), other != session.id {
            try setWriterFailure(.retryable, message: "session \(other) is backing the server up; try again when it is done")
            return false
        }
        let connection: MariaDBConnection
        let layout: ServerLayout
        do {
            connection = try await connect()
            layout = try await ServerLayout.read(from: connection)
        } catch {
            try setWriterFailure(.retryable, message: "the MariaDB server is not reachable: \(error)")
            return false
        }
        lastLayout.withLock { $0 = layout }
        let lock = layout.hasBackupStages ? "backup-stage-block-commit" : "flush-tables-with-read-lock"
        backup.withLock { $0 = HeldBackup(session: session.id, connection: connection, layout: layout, metadata: MariaDBBackupMetadata(layout: layout, lock: lock)) }
        return try vetoUnlessFilesAreInSnapshotSet(layout.paths, session)
    }

    override func onPrepareSnapshot(_ session: WriterSession) async throws -> Bool {
        guard let held = current(session) else { return true }
        guard session.isOneInstant(held.layout.paths) else {
            try setWriterFailure(.inconsistentSnapshot, message: """
                the snapshot set copies \(held.layout.dataDirectory) over time (its provider takes no instant snapshot): InnoDB keeps \
                flushing while commits are blocked, so such a copy can lose committed rows. Put the server's directories on one \
                btrfs volume, or use the freeze provider
                """)
            return false
        }
        return try await run(held, "PrepareForSnapshot", held.layout.hasBackupStages
            ? ["SET SESSION lock_wait_timeout = \(settings.lockTimeout.components.seconds)", "BACKUP STAGE START", "BACKUP STAGE FLUSH"]
            : ["SET SESSION lock_wait_timeout = \(settings.lockTimeout.components.seconds)"])
    }

    override func onFreeze(_ session: WriterSession) async throws -> Bool {
        guard let held = current(session) else { return true }
        guard try await run(held, "Freeze", held.layout.hasBackupStages ? ["BACKUP STAGE BLOCK_DDL", "BACKUP STAGE BLOCK_COMMIT"] : ["FLUSH TABLES WITH READ LOCK"]) else {
            return false
        }
        let since = ContinuousClock.now
        var metadata = held.metadata
        if let row = try? await held.connection.query("SELECT NOW(6), @@global.gtid_binlog_pos").first {
            metadata.frozenAt = row[0] ?? nil
            metadata.gtidBinlogPosition = row[1] ?? nil
        }
        if let status = try? await held.connection.query("SHOW MASTER STATUS").first {
            metadata.binlogFile = status[0] ?? nil
            metadata.binlogPosition = status.count > 1 ? status[1] : nil
        }
        backup.withLock {
            $0?.metadata = metadata
            $0?.frozenSince = since
        }
        return true
    }

    override func onThaw(_ session: WriterSession) async throws -> Bool {
        guard let held = current(session) else { return true }
        let stall = held.frozenSince.map { ContinuousClock.now - $0 }
        backup.withLock { $0?.metadata.heldMilliseconds = stall.map { Double($0.wholeMicroseconds) / 1000 } }
        do {
            try await held.connection.query("SELECT 1")
        } catch {
            try setWriterFailure(.nonRetryable, message: "the connection holding the lock was lost while frozen (\(error)): commits may have gone on during the snapshot")
            return false
        }
        logger.info("commits were blocked for \(stall.map { "\($0)" } ?? "?")")
        return try await run(held, "Thaw", [held.layout.hasBackupStages ? "BACKUP STAGE END" : "UNLOCK TABLES"])
    }

    override func onPostSnapshot(_ session: WriterSession) async throws -> Bool {
        guard let held = current(session) else { return true }
        try setBackupMetadata(try held.metadata.encoded(), component: Self.component)
        return true
    }

    override func onAbort(_ session: WriterSession) async throws -> Bool {
        await end(session)
        return true
    }

    override func onBackupShutdown(_ session: WriterSession) async throws -> Bool {
        await end(session)
        return true
    }

    /// The session's backup, if it is the one held.
    private func current(_ session: WriterSession) -> HeldBackup? {
        backup.withLock { $0?.session == session.id ? $0 : nil }
    }

    /// Closes the session's connection: the server releases every lock it held.
    private func end(_ session: WriterSession) async {
        let held = backup.withLock { value -> HeldBackup? in
            guard value?.session == session.id else { return nil }
            defer { value = nil }
            return value
        }
        await held?.connection.close()
    }

    /// Runs `statements` in order on the held connection; a failure vetoes with its code.
    private func run(_ held: HeldBackup, _ step: String, _ statements: [String]) async throws -> Bool {
        for statement in statements {
            do {
                try await held.connection.query(statement)
            } catch where error.isTimeout {
                try setWriterFailure(.timeout, message: "\(statement) waited longer than \(settings.lockTimeout) for a lock (a long transaction or DDL?); raise --lock-timeout or try again")
                return false
            } catch {
                try setWriterFailure(
                    error.connectionLost ? .nonRetryable : .retryable,
                    message: error.connectionLost ? "the connection to MariaDB was lost during the backup (\(step)): \(error)" : "\(statement) failed: \(error)"
                )
                return false
            }
        }
        return true
    }

    // MARK: - Restore

    override func onPreRestore(_ session: WriterSession) async throws -> Bool {
        try await stopServerForRestore(session, application: "MariaDB", unit: settings.service) {
            guard let connection = try? await connect() else { return false }
            await connection.close()
            return true
        }
    }

    override func onPostRestore(_ session: WriterSession) async throws -> Bool {
        do {
            try removeStalePidFiles(session)
        } catch {
            _ = try await startServerAfterRestore(session, unit: settings.service)
            throw error
        }
        return try await startServerAfterRestore(session, unit: settings.service)
    }

    /// Removes the pid file of the server that ran when the snapshot was taken (regular files
    /// only, never through a symlink).
    private func removeStalePidFiles(_ session: WriterSession) throws {
        guard session.backupSucceeded != false,
            let layout = lastLayout.withLock({ $0 }) ?? settings.dataDirectory.map({ ServerLayout(dataDirectory: $0, otherDirectories: [], hasBackupStages: true) })
        else { return }
        let directory = try DirectoryHandle.open(absolute: session.restoredPath(of: layout.dataDirectory))
        for name in try directory.entries() where name.string?.hasSuffix(".pid") == true {
            if try directory.status(name)?.kind == .regular { try directory.removeTree(name) }
        }
    }
}
