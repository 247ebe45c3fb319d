import Foundation
@testable import QuiesceFiles
import Testing

private let rootOnly = ConditionTrait.enabled(if: getuid() == 0, "SKIP: needs root to mount a tmpfs (CI runs as root)")

@Suite("Restore transactions: staged, swapped, recoverable")
struct RestoreTransactionTests {
    /// A backup copy in `backup/`, a live directory `live/` that differs, a state directory.
    private func setUp() throws -> Scratch {
        let scratch = try Scratch()
        try scratch.write("backup/db/data.db", "backed up\n")
        try scratch.write("backup/config", "v1\n")
        try scratch.write("live/db/data.db", "newer\n")
        try scratch.write("live/db/data.db-wal", "stale log\n")
        try scratch.write("live/config", "v2\n")
        return scratch
    }

    @Test("A whole directory is swapped at once; what it replaced is kept until finish")
    func wholeDirectory() async throws {
        let scratch = try setUp()
        let transaction = try RestoreTransaction(stateDirectory: scratch.path + "/state")
        let (staging, _) = try await transaction.stageWhole(from: try DirectoryHandle.open(absolute: scratch.path + "/backup"), to: scratch.path + "/live")
        #expect(staging == .wholeDirectory)
        #expect(try scratch.read("live/db/data.db") == "newer\n")  // nothing live changed while staging
        try transaction.swap()
        #expect(try scratch.read("live/db/data.db") == "backed up\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/live/db/data.db-wal"))
        let kept = try transaction.finish(keepReplaced: true)
        #expect(kept.count == 1)
        #expect(try String(contentsOfFile: kept[0] + "/live/db/data.db-wal", encoding: .utf8) == "stale log\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/state/restores").isEmpty)
    }

    @Test("Selected entries go back, entries the backup lacks are taken away, the rest stays; a roll back undoes it")
    func selectedEntries() async throws {
        let scratch = try setUp()
        let transaction = try RestoreTransaction(stateDirectory: scratch.path + "/state")
        _ = try await transaction.stageEntries(
            [RelativePath("db/data.db")!], removing: [RelativePath("db/data.db-wal")!],
            from: try DirectoryHandle.open(absolute: scratch.path + "/backup"), to: scratch.path + "/live"
        )
        try transaction.swap()
        #expect(try scratch.read("live/db/data.db") == "backed up\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/live/db/data.db-wal"))
        #expect(try scratch.read("live/config") == "v2\n")
        try transaction.rollBack()
        #expect(try scratch.read("live/db/data.db") == "newer\n")
        #expect(try scratch.read("live/db/data.db-wal") == "stale log\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/live").sorted() == ["config", "db"])
    }

    @Test("Recovery finishes a swap that was cut off between its renames, and rolls back one cut off while staging")
    func recovery() async throws {
        let scratch = try setUp()
        let state = scratch.path + "/state"
        do {
            let transaction = try RestoreTransaction(stateDirectory: state)
            _ = try await transaction.stageEntries(
                [RelativePath("db/data.db")!, RelativePath("config")!], removing: [RelativePath("db/data.db-wal")!],
                from: try DirectoryHandle.open(absolute: scratch.path + "/backup"), to: scratch.path + "/live"
            )
            // Killed while swapping, after the first exchange: the journal says swapping; config
            // is live (exchanged, its old copy still in new/), the rest untouched.
            var journal = try JournalDirectory(stateDirectory: state).read(transaction.id)
            journal.phase = .swapping
            try JournalDirectory(stateDirectory: state).write(journal)
            let live = try DirectoryHandle.open(absolute: scratch.path + "/live")
            let staged = try live.openDirectory(RelativePath("\(journal.volumes[0].work)/new")!)
            try staged.rename(FileName("config")!, to: live, as: FileName("config")!, exchange: true)
            #expect(try scratch.read("live/config") == "v1\n")
            // The process dies: its lock goes with it.
        }
        let outcomes = try RestoreRecovery.run(stateDirectory: state)
        #expect(outcomes.count == 1)
        #expect(outcomes.first?.finished == true)
        #expect(try scratch.read("live/config") == "v1\n")
        #expect(try scratch.read("live/db/data.db") == "backed up\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/live/db/data.db-wal"))
        let kept = try #require(outcomes.first?.kept.first)
        #expect(try String(contentsOfFile: kept + "/config", encoding: .utf8) == "v2\n")

        // Killed while staging: rolled back, nothing live changed.
        try scratch.write("live/config", "v3\n")
        do {
            let transaction = try RestoreTransaction(stateDirectory: state)
            _ = try await transaction.stageWhole(from: try DirectoryHandle.open(absolute: scratch.path + "/backup"), to: scratch.path + "/live")
        }
        // Killed right after making its work directory, before new/ and old/ in it.
        do {
            let transaction = try RestoreTransaction(stateDirectory: state)
            _ = try await transaction.stageWhole(from: try DirectoryHandle.open(absolute: scratch.path + "/backup"), to: scratch.path + "/live")
            let journal = try JournalDirectory(stateDirectory: state).read(transaction.id)
            try DirectoryHandle.open(absolute: scratch.path).openDirectory(journal.volumes[0].work).removeTree(FileName("new")!)
        }
        let rolledBack = try RestoreRecovery.run(stateDirectory: state)
        #expect(rolledBack.map(\.finished) == [false, false])
        #expect(try scratch.read("live/config") == "v3\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix(".quiesce-restore-") }.isEmpty)
    }

    @Test("Recovery finishes a clean-up cut off while it removed the work directory, as that restore decided")
    func interruptedCleanUp() async throws {
        let scratch = try setUp()
        let state = scratch.path + "/state"
        let journals = try JournalDirectory(stateDirectory: state)
        for (phase, keepsReplaced) in [(RestoreJournal.Phase.cleaningUp, false), (.swapped, nil)] {
            try scratch.write("live/config", "v2\n")
            do {
                let transaction = try RestoreTransaction(stateDirectory: state)
                _ = try await transaction.stageWhole(from: try DirectoryHandle.open(absolute: scratch.path + "/backup"), to: scratch.path + "/live")
                try transaction.swap()
                // Killed while removing the work directory: new/ is gone, old/ partly.
                var journal = try journals.read(transaction.id)
                journal.phase = phase
                journal.keepsReplaced = keepsReplaced
                try journals.write(journal)
                let work = try DirectoryHandle.open(absolute: scratch.path).openDirectory(journal.volumes[0].work)
                try work.removeTree(FileName("new")!)
                try work.openDirectory(RelativePath("old/live")!).removeTree(FileName("config")!)
            }
            let outcomes = try RestoreRecovery.run(stateDirectory: state)
            #expect(outcomes.map(\.finished) == [true], "\(phase)")
            #expect(try scratch.read("live/config") == "v1\n", "the restore stands")
            #expect(try journals.ids().isEmpty)
            // A clean-up that had decided to remove what was replaced finishes removing it; one
            // from before the decision was recorded keeps it, as recovery does.
            let left = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix(".quiesce-") }
            #expect(left.isEmpty == (keepsReplaced == false), "\(phase): \(left)")
            #expect(outcomes.first?.kept.isEmpty == (keepsReplaced == false))
            for name in left { try FileManager.default.removeItem(atPath: scratch.path + "/" + name) }
        }
    }

    @Test("A transaction whose process is alive is left alone by recovery")
    func liveTransactionsAreLeftAlone() async throws {
        let scratch = try setUp()
        let transaction = try RestoreTransaction(stateDirectory: scratch.path + "/state")
        _ = try await transaction.stageWhole(from: try DirectoryHandle.open(absolute: scratch.path + "/backup"), to: scratch.path + "/live")
        // flock is per open file description: a second one in this process contends like another process.
        #expect(try RestoreRecovery.run(stateDirectory: scratch.path + "/state").isEmpty)
        try transaction.rollBack()
    }

    @Test("A mount point cannot be renamed: its top-level entries are swapped one by one", rootOnly)
    func mountPoint() async throws {
        let scratch = try setUp()
        let mountPoint = scratch.path + "/mounted"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=16m", "quiesce-test", mountPoint]
        try mount.run()
        mount.waitUntilExit()
        try #require(mount.terminationStatus == 0)
        defer {
            let unmount = Process()
            unmount.executableURL = URL(fileURLWithPath: "/bin/umount")
            unmount.arguments = [mountPoint]
            try? unmount.run()
            unmount.waitUntilExit()
        }
        try scratch.write("mounted/config", "mounted v2\n")
        try scratch.write("mounted/extra", "not in the backup\n")
        let transaction = try RestoreTransaction(stateDirectory: scratch.path + "/state")
        let (staging, _) = try await transaction.stageWhole(from: try DirectoryHandle.open(absolute: scratch.path + "/backup"), to: mountPoint)
        #expect(staging == .topLevelEntries)
        try transaction.swap()
        try transaction.finish(keepReplaced: false)
        #expect(try scratch.read("mounted/config") == "v1\n")
        #expect(try scratch.read("mounted/db/data.db") == "backed up\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mountPoint).sorted() == ["config", "db"])
    }
}
