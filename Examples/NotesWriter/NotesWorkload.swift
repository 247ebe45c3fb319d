import Foundation

/// Keeps writing notes to the database, as the application would, through its own connection;
/// it can be stopped (for a restore) and started again.
actor NotesWorkload {
    let database: String
    let interval: Duration
    private var task: Task<Void, any Error>?

    init(database: String, interval: Duration) {
        self.database = database
        self.interval = interval
    }

    /// Starts inserting a note every `interval`.
    func start() {
        guard task == nil else { return }
        let database = self.database
        let interval = self.interval
        task = Task {
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

    /// Stops inserting and closes the workload's connection; returns once it is closed.
    func stop() async {
        task?.cancel()
        _ = await task?.result
        task = nil
    }
}
