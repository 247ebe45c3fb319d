import Foundation
import Quiesce
import Testing

@Suite("Documents")
struct DocumentCodingTests {
    static let metadata = WriterMetadata(
        name: "notes", classId: "c", instanceId: "i", applicationLevel: .frontEnd, freezeTimeoutMilliseconds: 20_000,
        components: [Component(logicalPath: "sqlite", name: "notes", type: .database, files: [FileSpec(path: "/srv/notes", pattern: "notes.db*")])]
    )

    @Test("Writer metadata uses kebab-case keys and round-trips")
    func metadataRoundTrip() throws {
        let text = try JSONCoding.encode(Self.metadata)
        #expect(text.contains("\"application-level\":\"front-end\""))
        #expect(text.contains("\"freeze-timeout-ms\":20000"))
        #expect(text.contains("\"logical-path\":\"sqlite\""))
        #expect(try JSONCoding.decode(WriterMetadata.self, from: text) == Self.metadata)
        #expect(Self.metadata.component("sqlite/notes")?.type == .database)
    }

    @Test("A backup document round-trips with its snapshot set and consistency labels")
    func backupDocumentRoundTrip() throws {
        let status = WriterStatus(name: "notes", classId: "c", instanceId: "i", state: .failedAtFreeze, failure: .notResponding, message: "no reply", eventMilliseconds: ["Freeze": 1000])
        let document = BackupDocument(
            sessionId: "s1", backupType: .full, outcome: .partial,
            writers: [WriterRecord(metadata: Self.metadata, status: status, components: [ComponentRecord(fullPath: "sqlite/notes", consistency: .crashConsistent)])],
            snapshotSet: SnapshotSet(id: "set", provider: "copy", createdAt: Date(timeIntervalSince1970: 1_800_000_000), volumes: [VolumeSnapshot(volume: "/srv/notes", snapshotPath: "/snap/0-notes", dataPath: "data/0-notes")])
        )
        let text = try JSONCoding.encode(document, pretty: true)
        #expect(text.contains("\"consistency\" : \"crash-consistent\""))
        #expect(text.contains("\"failure\" : \"not-responding\""))
        #expect(text.contains("2027-01-15T08:00:00Z"))
        #expect(try JSONCoding.decode(BackupDocument.self, from: text) == document)
    }
}
