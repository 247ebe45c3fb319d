import CLinuxFiles

/// The process's heap.
public enum Heap {
    /// Gives the memory freed since the last call back to the system (`malloc_trim`): after a
    /// session with large inputs, a long-running daemon returns to its baseline.
    public static func releaseFreeMemory() {
        quiesce_release_free_memory()
    }
}
