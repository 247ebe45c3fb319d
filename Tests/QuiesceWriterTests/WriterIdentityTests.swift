import QuiesceWriter
import Testing

/// A writer with nothing of its own: only its identity is under test.
private final class PlainWriter: Writer, @unchecked Sendable {}

@Suite("Writer identity")
struct WriterIdentityTests {
    @Test("A bad name, id or freeze timeout is a thrown error that says what is wrong", arguments: [
        ("my-app", "c", "invalid writer name \"my-app\": use 1 to 64 ASCII letters, digits and _, not starting with a digit"),
        ("9lives", "c", "invalid writer name \"9lives\""),
        ("", "c", "invalid writer name \"\""),
        ("app", "", "invalid class id \"\" of writer app: use 1 to 128 bytes, a UUID by convention"),
    ])
    func refused(name: String, classId: String, message: String) {
        do {
            _ = try PlainWriter(name: name, classId: classId)
            Issue.record("\(name) / \(classId) was accepted")
        } catch {
            #expect(error.description.hasPrefix(message), "\(error.description)")
        }
    }

    @Test("A freeze timeout of zero is refused; a valid writer carries its identity into its metadata")
    func accepted() throws {
        #expect(throws: WriterUsageError.self) { try PlainWriter(name: "app", classId: "c", freezeTimeout: .zero) }
        let writer = try PlainWriter(name: "app_1", classId: "6f1f8a52-3f0e-4d5b-9d84-1c2a3b4c5d6e", freezeTimeout: .seconds(20))
        #expect(writer.baseMetadata.freezeTimeoutMilliseconds == 20_000)
        #expect(writer.baseMetadata.name == "app_1")
    }
}
