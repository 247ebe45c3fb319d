/// Rules for the absolute paths that name volumes and files.
public enum PathRules {
    /// Whether `path` is absolute and normalized: starts with `/`, has no empty, `.` or `..`
    /// element, no trailing `/` (except the root itself) and no NUL.
    public static func isAbsoluteNormalized(_ path: String) -> Bool {
        guard path.hasPrefix("/"), !path.contains("\0"), path.utf8.count <= 4096 else { return false }
        if path == "/" { return true }
        let elements = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        return elements.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    /// Whether `path` is `directory` or lies below it.
    public static func contains(_ directory: String, _ path: String) -> Bool {
        if directory == "/" { return path.hasPrefix("/") }
        return path == directory || path.hasPrefix(directory + "/")
    }

    /// Whether `path` is relative and normalized: not empty, no leading `/`, no empty, `.` or
    /// `..` element, no NUL, at most 4096 bytes. Such a path cannot leave the directory it is
    /// relative to (symlinks aside, which readers must refuse themselves).
    public static func isRelativeNormalized(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("\0"), path.utf8.count <= 4096 else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    /// `path` relative to `directory` (which contains it): empty when they are equal.
    public static func relative(_ path: String, to directory: String) -> String {
        if path == directory { return "" }
        return String(path.dropFirst(directory == "/" ? 1 : directory.count + 1))
    }
}
