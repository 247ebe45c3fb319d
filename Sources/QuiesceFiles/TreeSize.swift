import Glibc

/// How much data a directory tree holds, counted only as far as needed.
public enum TreeSize {
    /// Whether the regular files below `directory` (on its filesystem) hold more than `limit`
    /// bytes; stops counting as soon as they do.
    public static func exceeds(_ limit: Int64, in directory: DirectoryHandle) async throws -> Bool {
        try await BlockingWork.run { flag in
            var total: Int64 = 0
            let device = try directory.status().device
            func walk(_ current: DirectoryHandle, depth: Int) throws -> Bool {
                for name in try current.entries() {
                    try flag.check()
                    guard let status = try current.status(name), status.device == device else { continue }
                    if status.kind == .regular {
                        total += status.size
                        if total > limit { return true }
                    } else if status.kind == .directory, depth < 256, try walk(try current.openDirectory(name), depth: depth + 1) {
                        return true
                    }
                }
                return false
            }
            return try walk(directory, depth: 0)
        }
    }
}
