import Quiesce
import QuiesceProtocol
import QuiesceCoordinator
import Testing

@Suite("Timeouts configuration")
struct PhaseTimeoutsTests {
    @Test("event=seconds settings change one timeout")
    func apply() throws {
        var timeouts = PhaseTimeouts.defaults
        try timeouts.apply("freeze=2.5")
        try timeouts.apply("prepare-for-snapshot=30")
        try timeouts.apply("BackupComplete=7")
        #expect(timeouts[.freeze] == .milliseconds(2500))
        #expect(timeouts[.prepareForSnapshot] == .seconds(30))
        #expect(timeouts[.backupComplete] == .seconds(7))
        #expect(timeouts[.thaw] == PhaseTimeouts.defaults[.thaw])
    }

    @Test("Bad settings are refused with a message", arguments: ["freeze", "freeze=0", "freeze=-1", "freeze=abc", "melt=3", "freeze=99999"])
    func refuse(setting: String) {
        var timeouts = PhaseTimeouts.defaults
        #expect(throws: QuiesceError.self) { try timeouts.apply(setting) }
        #expect(timeouts == PhaseTimeouts.defaults)
    }
}
