// snippet:begin README.md
import QuiesceWriter

final class CacheWriter: Writer, @unchecked Sendable {
    override func onIdentify(_ metadata: inout WriterMetadata) async throws {
        metadata.components = [Component(name: "cache", files: [FileSpec(path: "/var/lib/cache")])]
    }
    override func onFreeze(_ session: WriterSession) async throws -> Bool { await cache.pauseWrites(); return true }
    override func onThaw(_ session: WriterSession) async throws -> Bool { await cache.resumeWrites(); return true }
    override func onAbort(_ session: WriterSession) async throws -> Bool { await cache.resumeWrites(); return true }
}
let writer = try CacheWriter(name: "cache", classId: "0c2b5a4e-7d1f-4a8e-9b3c-5e6f7a8b9c0d")
try await WriterService(writer: writer).runUntilTerminated()
// snippet:end
