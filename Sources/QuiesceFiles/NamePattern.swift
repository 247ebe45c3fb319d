import Glibc

/// A shell glob matched against one file name (`fnmatch` without flags: `*`, `?`, `[...]`).
public struct NamePattern: Sendable, Hashable {
    /// The glob.
    public let glob: String

    /// Creates a pattern.
    public init(_ glob: String) {
        self.glob = glob
    }

    /// Whether `name` matches.
    public func matches(_ name: FileName) -> Bool {
        glob == "*" || name.withCString { fnmatch(glob, $0, 0) == 0 }
    }
}
