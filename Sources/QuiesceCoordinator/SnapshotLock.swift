/// Allows one snapshot set to be created at a time, across all sessions.
actor SnapshotLock {
    private var holder: String?

    /// Takes the lock for `session`; `false` if another session holds it.
    func tryAcquire(for session: String) -> Bool {
        guard holder == nil else { return false }
        holder = session
        return true
    }

    /// Gives the lock back.
    func release(for session: String) {
        if holder == session { holder = nil }
    }
}
