import Foundation
import Logging
import Quiesce
import QuiesceWriter

/// A writer for an SQLite notes database in WAL mode.
///
/// PrepareForSnapshot checkpoints the WAL; Freeze checkpoints it again and holds a write
/// transaction, so no process can change the database until Thaw (or Abort) ends it. A copy
/// taken while it is frozen passes `PRAGMA integrity_check` and holds every committed note.
final class NotesWriter: Writer, @unchecked Sendable {
    let database: String
    private let hold: SQLiteShell
    private let logger: Logger

    init(database: String, name: String, logger: Logger) throws {
        self.database = database
        self.hold = try SQLiteShell(database: database)
        self.logger = logger
        super.init(
            name: name,
            classId: "6f0d5a8e-2b8e-4c55-9d1e-6b7f3c1a9e01",
            applicationLevel: .backEnd,
            freezeTimeout: .seconds(60),
            restoreMethod: .stopRestoreStart
        )
    }

    /// Creates the database in WAL mode if it is new.
    func setUp() async throws {
        try await hold.execute("""
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL, created REAL NOT NULL);
            """)
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

    override func onPrepareBackup(_ session: WriterSession) async throws -> Bool {
        if !session.pathsOutsideSnapshotSet([database]).isEmpty, !session.volumes.isEmpty {
            try setWriterFailure(.inconsistentSnapshot, message: "\(database) is on no volume of the snapshot set")
        }
        return true
    }

    override func onPrepareSnapshot(_ session: WriterSession) async throws -> Bool {
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

    func shutDown() async {
        await hold.close()
    }
}
