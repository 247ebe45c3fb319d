import CLinuxFiles
import Glibc

/// A file in memory (memfd): somewhere a child process can write its output that is on no
/// filesystem, so never on one a writer may be freezing, and whose end is not an end of file
/// its background children could hold open (as a pipe's would be).
public final class MemoryFile: Sendable {
    /// The descriptor; give it to a child as its standard output or error.
    public let descriptor: Int32

    /// Creates an empty memory file named `name` (the name is only for /proc).
    public init(name: String) throws {
        let descriptor = quiesce_memory_file(name)
        guard descriptor >= 0 else { throw FileError("create", "a memory file", code: errno) }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Everything written so far, up to `limit` bytes from the end (a chatty child's last words
    /// are what count).
    public func contents(limit: Int = 64 << 10) -> [UInt8] {
        let size = lseek(descriptor, 0, SEEK_END)
        guard size > 0 else { return [] }
        let start = max(0, Int(size) - limit)
        var bytes = [UInt8](repeating: 0, count: Int(size) - start)
        let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(start)) }
        return Array(bytes.prefix(max(0, count)))
    }
}
