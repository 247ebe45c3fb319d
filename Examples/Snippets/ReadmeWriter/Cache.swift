/// What the README's writer example quiesces: an application cache that can hold its writes.
/// (The example itself is main.swift, the README's text verbatim; a test keeps them equal.)
actor Cache {
    private(set) var isPaused = false
    func pauseWrites() { isPaused = true }
    func resumeWrites() { isPaused = false }
}

/// The cache the example writer pauses.
let cache = Cache()
