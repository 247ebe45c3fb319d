import Quiesce
import QuiesceWriter

/// The benchmark's writer: no-op handlers, except a Freeze that may take a fixed time.
final class BenchWriter: Writer, @unchecked Sendable {
    let volume: String
    let freezeDelay: Duration

    init(name: String, volume: String, freezeDelay: Duration) {
        self.volume = volume
        self.freezeDelay = freezeDelay
        super.init(name: name, classId: "5b1e0c3a-7d2f-4f6b-8a90-1c2d3e4f5a6b")
    }

    override func onIdentify(_ metadata: inout WriterMetadata) async throws {
        metadata.components = [Component(name: "data", files: [FileSpec(path: volume + "/" + name)])]
    }

    override func onFreeze(_ session: WriterSession) async throws -> Bool {
        if freezeDelay > .zero { try await Task.sleep(for: freezeDelay) }
        return true
    }
}
