import Foundation
import Quiesce
import QuiesceProtocol
import Testing

@Suite("Interface XML")
struct InterfaceFilesTests {
    /// The repository's dbus/ folder, found from this file's path.
    static let dbusFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../dbus").standardizedFileURL

    @Test("The generated layer embeds exactly dbus/*.xml", arguments: Interfaces.xml.keys.sorted())
    func embeddedMatchesFiles(interface: String) throws {
        let file = try String(contentsOf: Self.dbusFolder.appendingPathComponent("\(interface).xml"), encoding: .utf8)
        #expect(Interfaces.xml[interface]! + "\n" == file)
    }

    @Test("Every declared org.quiesce.Error is returned by some method, and every method's errors are declared")
    func errorsAreListed() {
        let listed = Set(Writer1.Method.allCases.flatMap(\.errors) + Session1.Method.allCases.flatMap(\.errors) + Coordinator1.Method.allCases.flatMap(\.errors))
        #expect(listed == Set(QuiesceError.Code.declared))
        #expect(Session1.Method.doSnapshotSet.errors.contains(.providerFailed))
        #expect(Writer1.Method.freeze.errors == [.accessDenied, .invalidArgument, .badState])
    }

    @Test("The model's event and session-step names are the XML's method names")
    func modelNamesMatchTheXML() {
        #expect(WriterEvent.allCases.map(\.rawValue) == Writer1.Method.allCases.map(\.rawValue))
        #expect(Writer1.EventMethod.allCases.map(\.rawValue) == WriterEvent.allCases.filter { $0 != .identify }.map(\.rawValue))
        let sessionMethods = Set(Session1.Method.allCases.map(\.rawValue))
        for step in SessionStep.allCases { #expect(sessionMethods.contains(step.rawValue), "\(step.rawValue)") }
    }

    @Test("A key set refuses or ignores unknown keys as its XML says, and names the key with the wrong type")
    func keySets() throws {
        #expect(throws: QuiesceError.self) { try Session1.DoSnapshotSetOptions(busValue: .vardict(["provder": .string("copy")])) }
        let ignored = try Writer1.EventOptions(busValue: .vardict(["from-the-future": .bool(true), "succeeded": .variant(.bool(true))]))
        #expect(ignored == Writer1.EventOptions(succeeded: true))
        do {
            _ = try Writer1.EventOptions(busValue: .vardict(["lease-ms": .string("soon")]))
            Issue.record("a mistyped key was accepted")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message == "lease-ms must be an unsigned 32-bit integer (u)")
        }
        let result = Writer1.EventResult(state: .waitingForThaw, failure: "", components: ["db": .init(failure: .init(code: .retryable, message: "busy"))])
        #expect(try Writer1.EventResult(busValue: result.busValue) == result)
        // As event-result.schema.json says: a component failure needs its code.
        #expect(throws: QuiesceError.self) { try EventReply(Writer1.EventResult(state: .stable, components: ["db": .init(failure: .init(message: "busy"))])) }
    }
}
