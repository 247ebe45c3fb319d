import Quiesce
import QuiesceProtocol
import Testing

@Suite("Writer state machine")
struct WriterEventTests {
    @Test("A successful backup walks the VSS states in order")
    func successfulSequence() {
        var state = WriterState.stable
        var seen: [WriterState] = []
        for event in [WriterEvent.prepareForBackup, .prepareForSnapshot, .freeze, .thaw, .postSnapshot, .backupComplete] {
            state = event.nextState(from: state, succeeded: true)
            seen.append(state)
        }
        #expect(seen == [.stable, .waitingForFreeze, .waitingForThaw, .waitingForPostSnapshot, .waitingForBackupComplete, .stable])
    }

    @Test("Each event has its own failed state", arguments: WriterEvent.allCases)
    func failureStates(event: WriterEvent) {
        let state = event.nextState(from: .waitingForThaw, succeeded: false)
        #expect(state.isFailed)
        if event != .abort {
            #expect(state.rawValue.hasPrefix("failed-at-"))
        }
    }

    @Test("Abort keeps a failed state and otherwise returns to stable")
    func abortKeepsFailure() {
        #expect(WriterEvent.abort.nextState(from: .failedAtFreeze, succeeded: true) == .failedAtFreeze)
        #expect(WriterEvent.abort.nextState(from: .waitingForThaw, succeeded: true) == .stable)
    }

    @Test("Freeze order is front-end, back-end, system")
    func applicationLevelOrder() {
        #expect(ApplicationLevel.allCases.sorted() == [.frontEnd, .backEnd, .system])
        #expect(ApplicationLevel.frontEnd < .system)
    }

    @Test("Method names match the interface XML")
    func methodNamesAreInTheXML() {
        for event in WriterEvent.allCases {
            #expect(Writer1.xml.contains("<method name=\"\(event.methodName)\">"))
        }
    }
}

@Suite("Session phases")
struct SessionPhaseTests {
    @Test("Each step is allowed only in its phases, and the backup and restore sequences walk the table")
    func transitions() {
        var phase = SessionPhase.created
        for step: SessionStep in [.gatherWriterMetadata, .addVolumes, .setWriterPolicy, .prepareForBackup, .doSnapshotSet, .backupComplete] {
            #expect(step.allowedIn.contains(phase), "\(step) in \(phase)")
            phase = step.phaseOnSuccess ?? phase
        }
        #expect(phase == .backupComplete)
        #expect(!SessionStep.abortBackup.allowedIn.contains(.backupComplete), "a completed backup cannot be aborted")
        #expect(!SessionStep.doSnapshotSet.allowedIn.contains(.snapshotDone), "one snapshot set per session")
        #expect(SessionStep.preRestore.allowedIn == [.metadataGathered])
        #expect(SessionStep.postRestore.phaseOnSuccess == .restored)
    }
}

@Suite("Event names")
struct EventNameTests {
    @Test("Kebab-case names are qemu-ga's freeze and thaw, and the others by their words")
    func kebabCase() {
        #expect(WriterEvent.freeze.kebabCaseName == "freeze")
        #expect(WriterEvent.thaw.kebabCaseName == "thaw")
        #expect(WriterEvent.prepareForSnapshot.kebabCaseName == "prepare-for-snapshot")
        #expect(WriterEvent.backupShutdown.kebabCaseName == "backup-shutdown")
    }
}
