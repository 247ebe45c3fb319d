// snippet:begin docs/writer-guide.md
import QuiesceWriter

final class ShopWriter: Writer, @unchecked Sendable {
    override func onIdentify(_ metadata: inout WriterMetadata) async throws {
        metadata.components = [
            Component(logicalPath: "db", name: "orders", type: .database,
                      files: [FileSpec(path: "/srv/shop/db", pattern: "orders.*")]),
        ]
    }
    override func onFreeze(_ session: WriterSession) async throws -> Bool { try await db.holdWrites(); return true }
    override func onThaw(_ session: WriterSession) async throws -> Bool { try await db.releaseWrites(); return true }
    override func onAbort(_ session: WriterSession) async throws -> Bool { try await db.releaseWrites(); return true }
}

let writer = try ShopWriter(name: "shop", classId: "2f4c8a1e-6b3d-4e5f-8a7b-9c0d1e2f3a4b", applicationLevel: .backEnd, freezeTimeout: .seconds(20))
try await WriterService(writer: writer, bus: .system).runUntilTerminated()
// snippet:end
