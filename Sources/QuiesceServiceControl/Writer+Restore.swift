import QuiesceWriter

extension Writer {
    /// PreRestore of a writer whose server's files are restored over it (restore method
    /// stop-restore-start): a restore elsewhere needs nothing; over the live files the server
    /// must be stopped, and is, through `unit`, when one was given. Otherwise vetoes
    /// (`non-retryable`) saying so. `isRunning` asks the server.
    public func stopServerForRestore(_ session: WriterSession, application: String, unit: SystemdUnit?, isRunning: () async -> Bool) async throws -> Bool {
        guard session.restoreTarget == .original, await isRunning() else { return true }
        guard let unit else {
            try setWriterFailure(.nonRetryable, message: "\(application) is running; stop it before restoring over it (or start the writer with --service UNIT)")
            return false
        }
        try await unit.stop()
        return true
    }

    /// PostRestore: the server stopped at PreRestore starts again, whether or not the files went
    /// back. A start that fails fails PostRestore (`non-retryable`, with systemctl's words): the
    /// restore is not reported as done with the server down.
    public func startServerAfterRestore(_ session: WriterSession, unit: SystemdUnit?) async throws -> Bool {
        guard session.restoreTarget == .original, let unit else { return true }
        do {
            try await unit.start()
            return true
        } catch {
            try setWriterFailure(.nonRetryable, message: "the files are back, but the server did not start: \(error)")
            return false
        }
    }
}
