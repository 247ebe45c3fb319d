import Quiesce
import QuiesceTesting
import QuiesceWriter
import Synchronization
import Testing

private let fullBackup: [WriterEvent] = [.prepareForBackup, .prepareForSnapshot, .freeze, .thaw, .postSnapshot, .backupComplete, .backupShutdown]

@Suite("Writer SDK: sequences, vetoes and states (in-process, with QuiesceTesting)")
struct WriterSequenceTests {
    @Test("A happy backup: every event once, the VSS states, stable at the end")
    func happyPath() async throws {
        let kit = WriterTestKit(writer: try ScriptedWriter())
        let run = try await kit.backup(volumes: ["/srv/app"])
        #expect(run.events == fullBackup)
        #expect(run.records.map(\.state) == [.stable, .waitingForFreeze, .waitingForThaw, .waitingForPostSnapshot, .waitingForBackupComplete, .stable, .stable])
        #expect(run.firstFailure == nil)
    }

    @Test("PreRestore leaves the writer waiting for PostRestore; a PostRestore whose files did not go back still runs the handler, and says so")
    func restoreThatFailed() async throws {
        let reopened = Mutex<[Bool?]>([])
        let writer = try ScriptedWriter(script: [.postRestore: { _, _, session in
            reopened.withLock { $0.append(session.backupSucceeded) }
            return true
        }])
        let kit = WriterTestKit(writer: writer)
        let good = await kit.restore(components: ["db/data"], session: "good")
        #expect(good.records.map(\.state) == [.waitingForPostRestore, .stable])
        #expect(good.firstFailure == nil)

        let failed = await kit.restore(components: ["db/data"], session: "failed", succeeded: false)
        let record = try #require(failed.record(.postRestore))
        #expect(record.state == .failedAtPostRestore)
        #expect(record.failure == .retryable)
        #expect(record.message.contains("did not put the files back"))
        #expect(reopened.withLock { $0 } == [true, false])
    }

    @Test("setWriterFailure vetoes with its code in every phase", arguments: [WriterEvent.prepareForBackup, .prepareForSnapshot, .freeze, .thaw, .postSnapshot, .backupComplete])
    func vetoInEachPhase(event: WriterEvent) async throws {
        let writer = try ScriptedWriter(script: [event: { writer, _, _ in
            try writer.setWriterFailure(.retryable, message: "busy")
            return true  // the failure counts whatever the handler returns
        }])
        let run = try await WriterTestKit(writer: writer).backup(volumes: ["/srv/app"])
        let failed = try #require(run.firstFailure)
        #expect(failed.event == event)
        #expect(failed.state == event.stateOnFailure)
        #expect(failed.failure == .retryable)
        #expect(failed.message == "busy")
        // Abort follows a failed Freeze or Thaw, never a failed PrepareForSnapshot or PostSnapshot.
        let abortSent = run.events.contains(.abort)
        #expect(abortSent == (event == .freeze || event == .thaw))
        #expect(run.events.last == .backupShutdown)
    }

    @Test("Every writer failure code can be set", arguments: FailureCode.allCases.filter { ![.notResponding, .statusNotAvailable].contains($0) })
    func everyCode(code: FailureCode) async throws {
        let writer = try ScriptedWriter(script: [.freeze: { writer, _, _ in try writer.setWriterFailure(code); return true }])
        let run = try await WriterTestKit(writer: writer).backup(volumes: ["/srv/app"])
        #expect(run.record(.freeze)?.failure == code)
    }

    @Test("Returning false vetoes as non-retryable; throwing vetoes with the error's text")
    func falseAndThrow() async throws {
        let refusing = try ScriptedWriter(script: [.freeze: { _, _, _ in false }])
        let refused = try await WriterTestKit(writer: refusing).backup(volumes: ["/srv/app"])
        #expect(refused.record(.freeze)?.failure == .nonRetryable)
        #expect(refused.record(.freeze)?.message == "Freeze handler returned false")

        let throwing = try ScriptedWriter(script: [.prepareForSnapshot: { _, _, _ in throw SomeApplicationError() }])
        let thrown = try await WriterTestKit(writer: throwing).backup(volumes: ["/srv/app"])
        #expect(thrown.record(.prepareForSnapshot)?.failure == .nonRetryable)
        #expect(thrown.record(.prepareForSnapshot)?.message.contains("the database is read-only") == true)
        #expect(thrown.events == [.prepareForBackup, .prepareForSnapshot, .backupShutdown])
        #expect(thrown.finalState == .failedAtPrepareSnapshot, "BackupShutdown leaves the session's failure visible")

        let both = try ScriptedWriter(script: [.thaw: { writer, _, _ in try writer.setWriterFailure(.outOfResources, message: "no memory"); return false }])
        #expect(try await WriterTestKit(writer: both).backup(volumes: ["/srv/app"]).record(.thaw)?.failure == .outOfResources)
    }

    @Test("A handler that hangs is not-responding; the Abort behind it waits and is not-responding too")
    func hangingHandler() async throws {
        let writer = try ScriptedWriter(script: [.freeze: { _, _, _ in try await Task.sleep(for: .seconds(30)); return true }])
        let run = try await WriterTestKit(writer: writer, timeout: .milliseconds(200)).backup(volumes: ["/srv/app"])
        #expect(run.record(.freeze)?.failure == .notResponding)
        #expect(run.record(.freeze)?.state == .failedAtFreeze)
        #expect(run.record(.abort)?.failure == .notResponding)
    }

    @Test("The requester's AbortBackup after any step of DoSnapshotSet reaches the writer", arguments: [WriterEvent.prepareForSnapshot, .freeze, .thaw])
    func requesterAbort(after event: WriterEvent) async throws {
        let run = try await WriterTestKit(writer: try ScriptedWriter()).backup(volumes: ["/srv/app"], abortAfter: event)
        #expect(run.events.suffix(2) == [.abort, .backupShutdown])
        #expect(run.record(.abort)?.succeeded == true)
    }

    @Test("A writer with no selected component gets no events")
    func unselected() async throws {
        let run = try await WriterTestKit(writer: try ScriptedWriter()).backup(volumes: ["/elsewhere"])
        #expect(run.events.isEmpty)
    }

    @Test("A writer at its limit of sessions answers status-not-available")
    func sessionLimit() async throws {
        let kit = WriterTestKit(writer: try ScriptedWriter(), maxSessions: 1)
        #expect(await kit.send(.prepareForBackup, session: "one", components: ["db/data"]).succeeded)
        let second = await kit.send(.prepareForBackup, session: "two", components: ["db/data"])
        #expect(second.failure == .statusNotAvailable)
        _ = await kit.send(.backupShutdown, session: "one")
        #expect(await kit.send(.prepareForBackup, session: "two", components: ["db/data"]).succeeded)
    }

    @Test("Handlers see the session: type, components, snapshot set, volumes, isPathAffected")
    func sessionInformation() async throws {
        let seen = Box<WriterSession?>(nil)
        let writer = try ScriptedWriter(script: [.freeze: { _, _, session in seen.value = session; return true }])
        _ = try await WriterTestKit(writer: writer).backup(volumes: ["/srv/app", "/var/log"], backupType: .incremental)
        let session = try #require(seen.value)
        #expect(session.backupType == .incremental)
        #expect(session.selectedComponents == ["db/data", "db/logs"])
        #expect(session.snapshotSetId == "test-snapshot-set")
        #expect(session.isPathAffected("/srv/app/data/x.db"))
        #expect(!session.isPathAffected("/srv/application"))
        #expect(session.pathsOutsideSnapshotSet(["/srv/app/data", "/mnt/d/logs"]) == ["/mnt/d/logs"])
    }

    @Test("The page's C: and D: example: files on a volume outside the set veto inconsistent-snapshot")
    func inconsistentSnapshot() async throws {
        let writer = try ScriptedWriter(script: [.prepareForSnapshot: { writer, _, session in
            try writer.vetoUnlessFilesAreInSnapshotSet(["/srv/app/data/db", "/mnt/d/log"], session)
        }])
        let run = try await WriterTestKit(writer: writer).backup(volumes: ["/srv/app"], components: ["db/data"])
        #expect(run.record(.prepareForSnapshot)?.failure == .inconsistentSnapshot)
        #expect(run.record(.prepareForSnapshot)?.message.contains("/mnt/d/log") == true)
        let complete = try await WriterTestKit(writer: writer).backup(volumes: ["/srv/app", "/mnt/d"], components: ["db/data"])
        #expect(complete.firstFailure == nil)
    }
}

/// A value handlers write and the test reads.
final class Box<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value {
        get { mutex.withLock { $0 } }
        set { mutex.withLock { $0 = newValue } }
    }
}
