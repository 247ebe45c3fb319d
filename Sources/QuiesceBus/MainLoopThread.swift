internal import CGLib

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
        // A GLib thread (not Foundation's), so that writers need not load Foundation.
        let box = CallbackBox((context: context, loop: loop))
        let thread = g_thread_new(name, { data in
            let (context, loop) = CallbackBox<(context: GLibPointer, loop: GLibPointer)>.take(data).value
            g_main_context_push_thread_default(context.raw)
            g_main_loop_run(loop.raw)
            g_main_context_pop_thread_default(context.raw)
            return nil
        }, box.retainedPointer())
        g_thread_unref(thread)  // detached: it ends when the loop quits
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
