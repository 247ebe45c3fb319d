import Glibc

/// How much data a directory tree holds, counted only as far as needed.
public enum TreeSize {
    /// Bytes of regular files and number of entries below a directory.
    public struct Totals: Sendable, Hashable {
        /// Bytes of regular file data (apparent size).
        public var bytes: Int64 = 0
        /// Files, directories and links.
        public var entries: Int64 = 0

        /// Creates totals.
        public init(bytes: Int64 = 0, entries: Int64 = 0) {
            self.bytes = bytes
            self.entries = entries
        }
    }

    /// What the tree below `directory` holds (on its filesystem), counting until the bytes pass
    /// `limit`, then stopping.
    public static func measure(_ directory: DirectoryHandle, stopAbove limit: Int64 = .max) async throws -> Totals {
        try await BlockingWork.run { flag in
            var totals = Totals()
            let device = try directory.status().device
            func walk(_ current: DirectoryHandle, depth: Int) throws -> Bool {
                for name in try current.entries() {
                    try flag.check()
                    guard let status = try current.status(name), status.device == device else { continue }
                    totals.entries += 1
                    if status.kind == .regular {
                        totals.bytes += status.size
                        if totals.bytes > limit { return true }
                    } else if status.kind == .directory, depth < 256, try walk(try current.openDirectory(name), depth: depth + 1) {
                        return true
                    }
                }
                return false
            }
            _ = try walk(directory, depth: 0)
            return totals
        }
    }

    /// Whether the regular files below `directory` (on its filesystem) hold more than `limit`
    /// bytes; stops counting as soon as they do.
    public static func exceeds(_ limit: Int64, in directory: DirectoryHandle) async throws -> Bool {
        try await measure(directory, stopAbove: limit).bytes > limit
    }
}
