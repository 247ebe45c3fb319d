import CLinuxFiles

/// The process's heap.
public enum Heap {
    /// For a long-running daemon that sees large inputs now and then: allocations of 128 KiB
    /// and more get their own mappings and go back to the system when freed, instead of
    /// fragmenting the heap (glibc otherwise raises that threshold after each large free).
    public static func limitRetainedMemory() {
        quiesce_limit_retained_memory(128 << 10)
    }

    /// Gives the memory freed since the last call back to the system (`malloc_trim`): after a
    /// session with large inputs, a long-running daemon returns to its baseline.
    public static func releaseFreeMemory() {
        quiesce_release_free_memory()
    }
}
