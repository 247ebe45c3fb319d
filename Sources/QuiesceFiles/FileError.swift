import Glibc

/// A file operation that failed, with the path it was about and the kernel's reason.
public struct FileError: Error, CustomStringConvertible, Sendable, Hashable {
    /// What was being done: `open`, `create`, `rename`, ...
    public var operation: String
    /// The path it was done to (for messages; the operation itself used descriptors).
    public var path: String
    /// The `errno` value; 0 when the failure is ours (see ``reason``).
    public var code: Int32
    /// Our own reason when `code` is 0.
    public var reason: String

    /// A failure reported by the kernel.
    public init(_ operation: String, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
        self.reason = ""
    }

    /// A failure found by our own checks.
    public init(_ operation: String, _ path: String, reason: String) {
        self.operation = operation
        self.path = path
        self.code = 0
        self.reason = reason
    }

    /// `cannot open /srv/x: a path component is a symlink (...)`.
    public var description: String { "cannot \(operation) \(path): \(explanation)" }

    /// Why, in words.
    public var explanation: String {
        switch code {
        case 0: reason
        case ELOOP: "a path component is a symlink, and symlinks are never followed here"
        case EXDEV where operation == "open": "the path leads outside its directory"
        default: String(cString: strerror(code))
        }
    }
}
