import QuiesceBus
import QuiesceServiceBus
import Synchronization

/// Sets a writer's properties and tells listeners about them without putting a signal beside
/// every reply: a value changes at once (a property read sees it), and one PropertiesChanged
/// with the latest values of everything that changed goes out once the writer has had no
/// change for `settle`, and at the latest `limit` after the first change not yet announced. A
/// backup's events thus cost their calls and replies on the bus, and the writer's final state
/// (what `busctl monitor`, `quiescectl writers` and ListWriters show) follows shortly after.
final class PropertyAnnouncer: Sendable {
    /// How long to wait for more changes before announcing (zero: announce at once).
    let settle: Duration
    /// The longest a change waits to be announced.
    let limit: Duration

    private struct Pending {
        var object: ServedObject?
        var names: Set<String> = []
        var firstChange: ContinuousClock.Instant?
        var lastChange: ContinuousClock.Instant?
        var isFlushing = false
    }

    private let pending = Mutex(Pending())

    init(settle: Duration, limit: Duration) {
        self.settle = settle
        self.limit = max(limit, settle)
    }

    /// The object whose properties change.
    func attach(_ object: ServedObject) {
        pending.withLock { $0.object = object }
    }

    /// Sets `values` now and announces those that changed later.
    func update(_ values: [String: BusValue]) {
        let startFlush = pending.withLock { state -> Bool in
            guard let object = state.object else { return false }
            let changed = object.setPropertiesSilently(values)
            guard !changed.isEmpty else { return false }
            let now = ContinuousClock.now
            state.names.formUnion(changed)
            state.lastChange = now
            if state.firstChange == nil { state.firstChange = now }
            guard !state.isFlushing else { return false }
            state.isFlushing = true
            return true
        }
        if startFlush { Task { await self.flushWhenSettled() } }
    }

    /// Waits until the changes settle (or the limit passes), then announces them.
    private func flushWhenSettled() async {
        while true {
            let step = pending.withLock { state -> (wait: Duration, announce: (ServedObject, Set<String>)?) in
                let now = ContinuousClock.now
                let deadline = min((state.lastChange ?? now) + settle, (state.firstChange ?? now) + limit)
                if deadline > now { return (deadline - now, nil) }
                let names = state.names
                state.names = []
                state.firstChange = nil
                state.lastChange = nil
                state.isFlushing = false
                return (.zero, state.object.map { ($0, names) })
            }
            if let (object, names) = step.announce {
                object.announceProperties(names)
                return
            }
            if step.wait == .zero { return }
            try? await Task.sleep(for: step.wait)
        }
    }
}
