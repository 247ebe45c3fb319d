import Foundation
import QuiesceWriter

/// One hook set's configuration file (`/etc/quiesce/hooks/NAME.json`): the writer it becomes,
/// where its hooks are, and which events run them.
///
/// ```json
/// {"name": "mysql", "hooks": "/etc/quiesce/hooks/mysql.d",
///  "components": [{"name": "db", "files": [{"path": "/var/lib/mysql", "recursive": true}]}]}
/// ```
struct HookSet: Codable, Sendable {
    /// The writer name (`org.quiesce.Writer.<name>`).
    var name: String
    /// The writer's class id; the same for every hook writer by default.
    var classId: String?
    /// The directory of hook executables, run in name order (reversed for thaw).
    var hooks: String
    /// Where the writer freezes: front-end, back-end (default) or system.
    var applicationLevel: ApplicationLevel?
    /// The longest the hooks may keep the application frozen (the lease), in milliseconds.
    var freezeTimeoutMs: UInt32?
    /// How long one hook may run before it is killed and the event fails with `timeout`.
    var hookTimeoutMs: UInt32?
    /// The events that run hooks, by argument (`freeze`, `thaw`, `prepare-for-snapshot`, ...);
    /// by default `freeze` and `thaw` only, as qemu-guest-agent's fsfreeze hooks expect.
    var events: [String]?
    /// The application's data.
    var components: [Component]

    /// The class id of hook writers that name none.
    static let defaultClassId = "7b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e"

    /// Reads and checks a hook set's file: unknown keys are refused (a typo must not pass
    /// silently), and so are hooks directories anyone but root or this user can change.
    static func load(_ path: String) throws -> HookSet {
        let data: Data
        do {
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
            guard size <= 1 << 20 else { throw HookError("the hook set \(path) is over 1 MiB") }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as HookError {
            throw error
        } catch {
            throw HookError("cannot read the hook set \(path): \(error.localizedDescription)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let set: HookSet
        do {
            let keys = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
            let known: Set<String> = ["name", "class-id", "hooks", "application-level", "freeze-timeout-ms", "hook-timeout-ms", "events", "components"]
            if let unknown = keys.keys.sorted().first(where: { !known.contains($0) }) {
                throw HookError("the hook set \(path) has an unknown key \(unknown); known: \(known.sorted().joined(separator: ", "))")
            }
            set = try JSONCoding.decode(HookSet.self, from: text)
        } catch let error as HookError {
            throw error
        } catch {
            throw HookError("the hook set \(path) is not valid: \(JSONCoding.describe(error))")
        }
        guard set.hooks.hasPrefix("/") else { throw HookError("hooks in \(path) must be an absolute directory") }
        for event in set.runEvents where !HookEvent.arguments.contains(event) {
            throw HookError("unknown event \(event) in \(path); known: \(HookEvent.arguments.joined(separator: ", "))")
        }
        return set
    }

    /// The hook arguments that run hooks.
    var runEvents: Set<String> { Set(events ?? ["freeze", "thaw"]) }

    /// The longest one hook may run.
    var hookTimeout: Duration { .milliseconds(hookTimeoutMs ?? 30_000) }
}

/// A hook writer that cannot start or run a hook, in words for the admin.
struct HookError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
