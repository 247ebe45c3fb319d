import Foundation
import Logging
import Quiesce
import QuiesceWriter
import Synchronization

/// A writer for an SQLite notes database in WAL mode.
///
/// PrepareForSnapshot checkpoints the WAL; Freeze checkpoints it again and holds a write
/// transaction, so no process can change the database until Thaw (or Abort) ends it. A copy
/// taken while it is frozen passes `PRAGMA integrity_check` and holds every committed note.
/// Its restore method is stop-restore-start: PreRestore closes every connection (and stops the
/// workload), PostRestore opens them again (also after a restore that failed).
final class NotesWriter: Writer, @unchecked Sendable {
    let database: String
    private let workload: NotesWorkload?
    private let logger: Logger
    /// The connection that holds writes while frozen; `nil` while a restore runs.
    private let holdConnection = Mutex<SQLiteShell?>(nil)

    init(database: String, name: String, workload: NotesWorkload?, logger: Logger) throws {
        self.database = database
        self.workload = workload
        self.logger = logger
        try super.init(
            name: name,
            classId: "6f0d5a8e-2b8e-4c55-9d1e-6b7f3c1a9e01",
            applicationLevel: .backEnd,
            freezeTimeout: .seconds(60),
            restoreMethod: .stopRestoreStart
        )
    }

    /// Opens the database (created in WAL mode if it is new) and starts the workload.
    func open() async throws {
        let shell = try SQLiteShell(database: database)
        try await shell.execute("""
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL, created REAL NOT NULL);
            """)
        holdConnection.withLock { $0 = shell }
        await workload?.start()
    }

    /// Stops the workload and closes every connection.
    func close() async {
        await workload?.stop()
        let shell = holdConnection.withLock { shell in defer { shell = nil }; return shell }
        await shell?.close()
    }

    private var hold: SQLiteShell {
        get throws {
            guard let shell = holdConnection.withLock({ $0 }) else {
                throw SQLiteShell.Failure(description: "the database is closed for a restore")
            }
            return shell
        }
    }

    private var directory: String { URL(fileURLWithPath: database).deletingLastPathComponent().path }
    private var fileName: String { URL(fileURLWithPath: database).lastPathComponent }

    override func onIdentify(_ metadata: inout WriterMetadata) async throws {
        metadata.components = [
            Component(
                logicalPath: "sqlite",
                name: "notes",
                type: .database,
                caption: "Notes database \(database)",
                files: [FileSpec(path: directory, pattern: fileName + "*")]
            )
        ]
    }

    override func onPrepareSnapshot(_ session: WriterSession) async throws -> Bool {
        guard try vetoUnlessFilesAreInSnapshotSet([database], session) else { return false }
        try await hold.execute("PRAGMA wal_checkpoint(PASSIVE);")
        return true
    }

    override func onFreeze(_ session: WriterSession) async throws -> Bool {
        try await hold.execute("PRAGMA wal_checkpoint(TRUNCATE); BEGIN IMMEDIATE;")
        logger.info("frozen: writes to \(database) are held", metadata: ["session": "\(session.id)"])
        return true
    }

    override func onThaw(_ session: WriterSession) async throws -> Bool {
        try await hold.execute("COMMIT;")
        logger.info("thawed: writes to \(database) go on", metadata: ["session": "\(session.id)"])
        return true
    }

    override func onAbort(_ session: WriterSession) async throws -> Bool {
        // Abort may come more than once, or without a Freeze: no open transaction is fine.
        do {
            try await hold.execute("ROLLBACK;")
        } catch let error as SQLiteShell.Failure where error.description.contains("no transaction is active") {}
        logger.info("aborted: writes to \(database) go on", metadata: ["session": "\(session.id)"])
        return true
    }

    override func onPreRestore(_ session: WriterSession) async throws -> Bool {
        // Restored elsewhere, the live database is not touched: nothing to stop.
        guard session.restoreTarget == .original else { return true }
        await close()
        // SQLite removes the WAL when the last connection closes; a stale one would be replayed
        // over the restored database.
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        logger.info("closed \(database) for the restore", metadata: ["session": "\(session.id)"])
        return true
    }

    override func onPostRestore(_ session: WriterSession) async throws -> Bool {
        guard session.restoreTarget == .original else {
            // Restored elsewhere: check that copy, and leave the live database alone.
            guard session.backupSucceeded == true else { return true }
            let copy = session.restoredPath(of: database)
            let shell = try SQLiteShell(database: copy)
            let check = try await shell.execute("PRAGMA integrity_check;")
            await shell.close()
            guard check == ["ok"] else {
                try setPostRestoreFailureMessage("integrity_check of \(copy): \(check.joined(separator: "; "))", component: "sqlite/notes")
                try setWriterFailure(.nonRetryable, message: "the database restored to \(copy) is damaged")
                return false
            }
            logger.info("the database restored to \(copy) passes integrity_check", metadata: ["session": "\(session.id)"])
            return true
        }
        // Reopened whether or not the files went back (session.backupSucceeded): the writer
        // must not stay closed after a restore that failed.
        try await open()
        let check = try await hold.execute("PRAGMA integrity_check;")
        guard check == ["ok"] else {
            try setPostRestoreFailureMessage("integrity_check: \(check.joined(separator: "; "))", component: "sqlite/notes")
            try setWriterFailure(.nonRetryable, message: "the restored database is damaged")
            return false
        }
        logger.info("reopened \(database) after the restore", metadata: ["session": "\(session.id)"])
        return true
    }
}
