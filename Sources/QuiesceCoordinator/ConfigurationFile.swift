import Foundation
import Quiesce
import QuiesceProtocol
import QuiesceFiles

/// quiesced's configuration file, JSON (`/etc/quiesce/quiesced.json`): every key optional, an
/// unknown key an error (a typo must not go unnoticed), command-line flags override it.
///
/// ```json
/// {
///   "state-dir": "/var/lib/quiesce",
///   "provider": "auto",
///   "copy-size-limit-mib": 256,
///   "write-hold-limit-seconds": 10,
///   "freeze-command": ["/usr/local/sbin/quiesce-lvm-snapshot", "--volume-group", "vg0"],
///   "snapshot-command": ["/usr/local/sbin/quiesce-zfs-snapshot"],
///   "timeouts": {"freeze": 20, "prepare-for-snapshot": 120},
///   "allow-group": "quiesce",
///   "history-limit": 200
/// }
/// ```
public struct ConfigurationFile: Codable, Sendable, Equatable {
    /// Where state that outlives a session lives.
    public var stateDir: String?
    /// Where the copy provider puts snapshot sets.
    public var snapshotRoot: String?
    /// A provider name, or `auto`.
    public var provider: String?
    /// The largest volume the copy provider takes unless named, in MiB.
    public var copySizeLimitMib: Int64?
    /// The longest the snapshot step may keep writers frozen.
    public var writeHoldLimitSeconds: Double?
    /// The `freeze` provider's device-snapshot command (absolute path, then arguments).
    public var freezeCommand: [String]?
    /// The `command` provider's snapshot command.
    public var snapshotCommand: [String]?
    /// Where `quiesce-freeze` is (default: beside quiesced).
    public var freezeHelper: String?
    /// Seconds per event, by event (`freeze`, `prepare-for-snapshot`, ...).
    public var timeouts: [String: Double]?
    /// The most writer calls in flight at once.
    public var maxCallsInFlight: Int?
    /// The most sessions open at once.
    public var maxSessions: Int?
    /// A session nobody calls for this long is aborted and closed.
    public var sessionIdleTimeoutSeconds: Double?
    /// A group whose members may start sessions.
    public var allowGroup: String?
    /// The most closed sessions kept in the history.
    public var historyLimit: Int?

    /// Where quiesced looks when no `--config` is given.
    public static let defaultPath = "/etc/quiesce/quiesced.json"

    /// The keys the file may hold.
    static let keys: Set<String> = [
        "state-dir", "snapshot-root", "provider", "copy-size-limit-mib", "write-hold-limit-seconds", "freeze-command", "snapshot-command",
        "freeze-helper", "timeouts", "max-calls-in-flight", "max-sessions", "session-idle-timeout-seconds", "allow-group", "history-limit",
    ]

    /// Creates an empty configuration (every default).
    public init() {}

    /// Reads `path`. A file that does not exist is an empty configuration, unless `required`.
    public static func load(_ path: String, required: Bool) throws(QuiesceError) -> ConfigurationFile {
        guard let slash = path.lastIndex(of: "/"), path.hasPrefix("/"), let name = FileName(String(path[path.index(after: slash)...])) else {
            throw QuiesceError(.invalidArgument, "the configuration file must be given by an absolute path, not \(path)")
        }
        let bytes: [UInt8]
        do {
            let directory = try DirectoryHandle.open(absolute: slash == path.startIndex ? "/" : String(path[..<slash]))
            guard let status = try directory.status(name) else {
                if required { throw QuiesceError(.invalidArgument, "the configuration file \(path) does not exist") }
                return ConfigurationFile()
            }
            // It names commands quiesced runs as its own user: nobody else may have written it.
            guard status.uid == geteuid(), status.permissions & 0o022 == 0 else {
                throw QuiesceError(.invalidArgument, "\(path) must belong to quiesced's user and be writable by nobody else (it names commands quiesced runs)")
            }
            bytes = try directory.readFile(name, limit: 1 << 20)
        } catch let error as QuiesceError {
            throw error
        } catch {
            if !required, (error as? FileError)?.code == ENOENT { return ConfigurationFile() }
            throw QuiesceError(.invalidArgument, "cannot read \(path): \(error)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw QuiesceError(.invalidArgument, "\(path) is not a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
            throw QuiesceError(.invalidArgument, "\(path): unknown key \(unknown); known: \(keys.sorted().joined(separator: ", "))")
        }
        do {
            return try JSONCoding.decode(ConfigurationFile.self, from: String(decoding: bytes, as: UTF8.self))
        } catch {
            throw QuiesceError(.invalidArgument, "\(path): \(error)")
        }
    }
}
