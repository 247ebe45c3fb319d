import Quiesce
import QuiesceTesting
import QuiesceWriter
import Testing

@Suite("Writer SDK: component setters follow VSS's rules")
struct ComponentSetterTests {
    @Test("Failure messages are accepted only in their own handler")
    func failureMessagesOnlyInTheirHandler() async throws {
        let writer = try ScriptedWriter(script: [
            .prepareForBackup: { writer, _, _ in
                try writer.setPrepareForBackupFailureMessage("log disk nearly full", component: "db/logs")
                return true
            },
            .freeze: { writer, _, _ in
                try writer.setPrepareForBackupFailureMessage("too late", component: "db/logs")
                return true
            },
        ])
        let run = try await WriterTestKit(writer: writer).backup(volumes: ["/srv/app"])
        #expect(run.record(.prepareForBackup)?.components == [ComponentStatus(fullPath: "db/logs", failureMessages: ["PrepareForBackup": "log disk nearly full"])])
        // Used in Freeze, the setter throws; the escaping error vetoes Freeze and names the rule.
        let freeze = try #require(run.record(.freeze))
        #expect(freeze.failure == .nonRetryable)
        #expect(freeze.message.contains("setPrepareForBackupFailureMessage is not allowed in Freeze; only in PrepareForBackup"))
    }

    @Test("Each message setter works in its handler and nowhere else", arguments: [
        (WriterEvent.prepareForBackup, "setPrepareForBackupFailureMessage"), (.postSnapshot, "setPostSnapshotFailureMessage"),
        (.preRestore, "setPreRestoreFailureMessage"), (.postRestore, "setPostRestoreFailureMessage"),
    ])
    func messageSetters(event: WriterEvent, setter: String) async throws {
        let call: @Sendable (Writer) throws -> Void = { writer in
            switch setter {
            case "setPrepareForBackupFailureMessage": try writer.setPrepareForBackupFailureMessage("m", component: "db/data")
            case "setPostSnapshotFailureMessage": try writer.setPostSnapshotFailureMessage("m", component: "db/data")
            case "setPreRestoreFailureMessage": try writer.setPreRestoreFailureMessage("m", component: "db/data")
            default: try writer.setPostRestoreFailureMessage("m", component: "db/data")
            }
        }
        for other in WriterEvent.allCases where other != .identify {
            let outcome = Box<WriterUsageError??>(nil)
            let writer = try ScriptedWriter(script: [other: { writer, _, _ in
                outcome.value = .some(usageError { try call(writer) })
                return true
            }])
            _ = await WriterTestKit(writer: writer).send(other, components: ["db/data"])
            switch outcome.value {
            case .some(.none): #expect(other == event, "\(setter) was accepted in \(other.methodName)")
            case .some(.some(let error)): #expect(other != event && error == .notAllowed(setter: setter, event: other, allowed: [event]))
            case .none: Issue.record("the handler did not run")
            }
        }
    }

    @Test("Backup metadata is set once per component; a second time is an error")
    func backupMetadataOnce() async throws {
        let errors = Box<[WriterUsageError]>([])
        let writer = try ScriptedWriter(script: [
            .prepareForBackup: { writer, _, _ in try writer.setBackupMetadata("lsn=42", component: "db/data"); return true },
            .postSnapshot: { writer, _, _ in
                do { try writer.setBackupMetadata("lsn=43", component: "db/data") } catch { errors.value += [usageError { throw error }].compactMap { $0 } }
                try writer.setBackupMetadata("rotated", component: "db/logs")
                return true
            },
            .backupComplete: { writer, _, _ in
                do { try writer.setBackupMetadata("x", component: "db/logs") } catch { errors.value += [usageError { throw error }].compactMap { $0 } }
                return true
            },
        ])
        let run = try await WriterTestKit(writer: writer).backup(volumes: ["/srv/app"])
        #expect(run.firstFailure == nil)
        #expect(run.components.map { $0.backupMetadata } == ["lsn=42", "rotated"])
        #expect(errors.value == [
            .alreadySet(setter: "setBackupMetadata", component: "db/data"),
            .notAllowed(setter: "setBackupMetadata", event: .backupComplete, allowed: [.prepareForBackup, .prepareForSnapshot, .freeze, .thaw, .postSnapshot]),
        ])
    }

    @Test("Metadata set in a failed event is dropped, and may be set again later")
    func changesOfFailedEventDropped() async throws {
        let kit = WriterTestKit(writer: try ScriptedWriter(script: [
            .prepareForBackup: { writer, _, _ in
                try writer.setBackupMetadata("from a failed event", component: "db/data")
                try writer.setRestoreMetadata("also dropped", component: "db/data")
                try writer.setPrepareForBackupFailureMessage("kept: it explains the failure", component: "db/data")
                try writer.setWriterFailure(.retryable, message: "not now")
                return true
            },
            .prepareForSnapshot: { writer, _, _ in try writer.setBackupMetadata("second try", component: "db/data"); return true },
        ]))
        let failed = await kit.send(.prepareForBackup, components: ["db/data"])
        #expect(failed.failure == .retryable)
        #expect(failed.components == [ComponentStatus(fullPath: "db/data", failureMessages: ["PrepareForBackup": "kept: it explains the failure"])])
        let later = await kit.send(.prepareForSnapshot, components: ["db/data"])
        #expect(later.succeeded)
        #expect(later.components.first?.backupMetadata == "second try")
    }

    @Test("Restore metadata: in PrepareForBackup or PreRestore, once")
    func restoreMetadata() async throws {
        let writer = try ScriptedWriter(script: [
            .prepareForBackup: { writer, _, _ in try writer.setRestoreMetadata("restore with --force", component: "db/data"); return true },
            .preRestore: { writer, _, _ in try writer.setRestoreMetadata("restore target /srv/new", component: "db/data"); return true },
            .freeze: { writer, _, _ in try writer.setRestoreMetadata("no", component: "db/logs"); return true },
        ])
        let kit = WriterTestKit(writer: writer)
        let run = try await kit.backup(volumes: ["/srv/app"])
        #expect(run.record(.prepareForBackup)?.components.first?.restoreMetadata == "restore with --force")
        #expect(run.record(.freeze)?.message.contains("setRestoreMetadata is not allowed in Freeze") == true)
        let restore = await kit.restore(components: ["db/data"])
        #expect(restore.record(.preRestore)?.components.first?.restoreMetadata == "restore target /srv/new")
    }

    @Test("A component failure makes a partial failure that keeps the other components' changes")
    func partialFailure() async throws {
        let writer = try ScriptedWriter(script: [.postSnapshot: { writer, _, _ in
            try writer.setBackupMetadata("lsn=7", component: "db/data")
            try writer.setComponentFailure(component: "db/logs", code: .retryable, applicationError: 28, message: "log archiving failed")
            return true
        }])
        let run = try await WriterTestKit(writer: writer).backup(volumes: ["/srv/app"])
        let post = try #require(run.record(.postSnapshot))
        #expect(post.failure == .partialFailure)
        #expect(post.state == .failedAtPostSnapshot)
        #expect(post.components.first { $0.fullPath == "db/data" }?.backupMetadata == "lsn=7")
        #expect(post.components.first { $0.fullPath == "db/logs" }?.failure == ComponentFailure(code: .retryable, applicationError: 28, message: "log archiving failed"))
    }

    @Test("Setters name misuse: outside a handler, unknown components, reserved codes")
    func misuse() async throws {
        let writer = try ScriptedWriter()
        #expect(throws: WriterUsageError.notInHandler(setter: "setWriterFailure")) { try writer.setWriterFailure(.retryable) }
        #expect(throws: WriterUsageError.notInHandler(setter: "setBackupMetadata")) { try writer.setBackupMetadata("x", component: "db/data") }
        let errors = Box<[WriterUsageError]>([])
        let probing = try ScriptedWriter(script: [.prepareForBackup: { writer, _, _ in
            errors.value = [
                usageError { try writer.setBackupMetadata("x", component: "db/nope") },
                usageError { try writer.setWriterFailure(.notResponding) },
                usageError { try writer.setComponentFailure(component: "db/data", code: .statusNotAvailable) },
            ].compactMap { $0 }
            return true
        }])
        #expect(await WriterTestKit(writer: probing).send(.prepareForBackup, components: ["db/data"]).succeeded)
        #expect(errors.value == [
            .unknownComponent(setter: "setBackupMetadata", component: "db/nope"),
            .reservedFailureCode(.notResponding),
            .reservedFailureCode(.statusNotAvailable),
        ])
    }

    @Test("Concurrent sessions keep their own failures")
    func concurrentSessions() async throws {
        let writer = try ScriptedWriter(script: [.prepareForBackup: { writer, _, session in
            if session.id == "vetoed" { try writer.setWriterFailure(.outOfResources, message: "only this one") }
            try await Task.sleep(for: .milliseconds(20))
            return true
        }])
        let kit = WriterTestKit(writer: writer)
        async let vetoed = kit.send(.prepareForBackup, session: "vetoed", components: ["db/data"])
        async let fine = kit.send(.prepareForBackup, session: "fine", components: ["db/data"])
        let (a, b) = await (vetoed, fine)
        #expect(a.failure == .outOfResources)
        #expect(b.succeeded)
    }
}

/// The usage error `body` throws, `nil` if it throws none.
func usageError(_ body: () throws -> Void) -> WriterUsageError? {
    do {
        try body()
        return nil
    } catch {
        return error as? WriterUsageError
    }
}
