// snippet:begin docs/writer-guide.md
import QuiesceTesting

@Test func vetoesWhenTheLogIsElsewhere() async throws {
    let kit = WriterTestKit(writer: try ShopWriter(name: "shop", classId: "2f4c8a1e-6b3d-4e5f-8a7b-9c0d1e2f3a4b"), timeout: .seconds(2))
    let run = try await kit.backup(volumes: ["/srv/shop"])
    #expect(run.record(.prepareForSnapshot)?.failure == .inconsistentSnapshot)
    #expect(run.events == [.prepareForBackup, .prepareForSnapshot, .backupShutdown])
}
// snippet:end

import QuiesceWriter
import Testing

/// The guide's ShopWriter with its log on another volume: PrepareForSnapshot vetoes
/// `inconsistent-snapshot` unless the database and its log are both in the snapshot set.
private final class ShopWriter: Writer, @unchecked Sendable {
    static let paths = ["/srv/shop/db", "/var/log/shop"]

    override func onIdentify(_ metadata: inout WriterMetadata) async throws {
        metadata.components = [Component(logicalPath: "db", name: "orders", type: .database, files: Self.paths.map { FileSpec(path: $0) })]
    }

    override func onPrepareSnapshot(_ session: WriterSession) async throws -> Bool {
        try vetoUnlessFilesAreInSnapshotSet(Self.paths, session)
    }
}
