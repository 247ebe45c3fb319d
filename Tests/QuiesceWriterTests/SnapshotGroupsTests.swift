import QuiesceWriter
import Testing

@Suite("WriterSession.isOneInstant: whether a writer's files are one point in time")
struct SnapshotGroupsTests {
    @Test("Files on one btrfs volume are; on two btrfs volumes, or on a copied volume, they are not; a freeze group spans volumes")
    func groups() {
        var session = WriterSession(id: "s", volumes: ["/srv/pg", "/srv/wal", "/srv/copied", "/srv"])
        session.snapshotGroups = ["/srv/pg": "btrfs:/srv/pg", "/srv/wal": "btrfs:/srv/wal", "/srv": "btrfs:/srv"]
        #expect(session.isOneInstant(["/srv/pg/data", "/srv/pg/data/pg_wal"]))
        #expect(!session.isOneInstant(["/srv/pg/data", "/srv/wal/pg_wal"]), "two snapshots, one after the other")
        #expect(!session.isOneInstant(["/srv/copied/data"]), "copied file by file")
        #expect(session.isOneInstant(["/srv/other"]), "the innermost volume holding a path decides")
        #expect(!session.isOneInstant(["/elsewhere"]) && !session.isOneInstant([]))
        session.snapshotGroups = ["/srv/pg": "freeze", "/srv/wal": "freeze"]
        #expect(session.isOneInstant(["/srv/pg/data", "/srv/wal/pg_wal"]), "frozen together")
    }
}
