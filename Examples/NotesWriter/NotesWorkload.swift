import Foundation

/// Keeps writing notes to the database, as the application would, through its own connection.
struct NotesWorkload: Sendable {
    let database: String
    let interval: Duration

    /// Inserts a note every `interval` until cancelled.
    func run() async throws {
        let shell = try SQLiteShell(database: database)
        var count = 0
        while !Task.isCancelled {
            count += 1
            try await shell.execute(
                "INSERT INTO notes(body, created) VALUES('note \(count) ' || hex(randomblob(32)), julianday('now'));"
            )
            try? await Task.sleep(for: interval)
        }
        await shell.close()
    }
}
