import QuiesceBus
import Synchronization

/// The property values of an exported object, changed under one lock so that announcements go
/// out in the order the changes happened (a ``ServedObject``'s).
final class PropertyValues: Sendable {
    private let values: Mutex<[String: BusValue]>

    /// Values starting with `initial`.
    init(_ initial: [String: BusValue]) {
        values = Mutex(initial)
    }

    /// The current value of a property.
    func value(_ name: String) -> BusValue? {
        values.withLock { $0[name] }
    }

    /// Every property and its current value.
    var all: [String: BusValue] {
        values.withLock { $0 }
    }

    /// Sets `changes` and returns the names whose value changed.
    func set(_ changes: [String: BusValue]) -> Set<String> {
        values.withLock { Self.apply(changes, to: &$0) }
    }

    /// Sets `changes` and hands those whose value changed to `announce`, under the lock
    /// (not called when nothing changed).
    func set(_ changes: [String: BusValue], announcing announce: ([String: BusValue]) -> Void) {
        values.withLock { values in
            let changed = Self.apply(changes, to: &values)
            if !changed.isEmpty { announce(values.filter { changed.contains($0.key) }) }
        }
    }

    /// Hands the current values of `names` to `announce`, under the lock (not called when none
    /// of them exists).
    func announce(_ names: Set<String>, with announce: ([String: BusValue]) -> Void) {
        values.withLock { values in
            let current = values.filter { names.contains($0.key) }
            if !current.isEmpty { announce(current) }
        }
    }

    private static func apply(_ changes: [String: BusValue], to values: inout [String: BusValue]) -> Set<String> {
        var changed: Set<String> = []
        for (name, value) in changes where values[name] != value {
            values[name] = value
            changed.insert(name)
        }
        return changed
    }
}
