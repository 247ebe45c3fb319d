internal import CGLib
import Foundation

/// One GLib main context running on one dedicated thread. Every GDBus callback of a
/// ``BusConnection`` arrives here; Swift code hands work to it with ``perform(_:)`` and never
/// blocks it.
final class MainLoopThread: Sendable {
    let context: GLibPointer
    private let loop: GLibPointer

    init(name: String) {
        let context = GLibPointer(g_main_context_new())
        let loop = GLibPointer(g_main_loop_new(context.raw, 0))
        self.context = context
        self.loop = loop
        let thread = Thread {
            g_main_context_push_thread_default(context.raw)
            g_main_loop_run(loop.raw)
            g_main_context_pop_thread_default(context.raw)
        }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on the loop thread, soon. `body` must not block.
    func perform(_ body: @escaping @Sendable () -> Void) {
        let box = CallbackBox(body)
        g_main_context_invoke_full(
            context.raw,
            G_PRIORITY_DEFAULT,
            { pointer in
                CallbackBox<@Sendable () -> Void>.borrow(pointer).value()
                return 0  // G_SOURCE_REMOVE
            },
            box.retainedPointer(),
            AnyCallbackBox.release
        )
    }

    /// Runs `body` on the loop thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            perform { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Stops the loop; the thread ends.
    func stop() {
        g_main_loop_quit(loop.raw)
    }

    deinit {
        g_main_loop_unref(loop.raw)
        g_main_context_unref(context.raw)
    }
}
