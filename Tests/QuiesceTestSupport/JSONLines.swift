import Foundation
import Quiesce

/// What `quiescectl ... --json` streamed: one JSON object per line.
public struct JSONLines {
    /// Each line, parsed.
    public let objects: [[String: Any]]

    /// Parses standard output; a line that is not a JSON object fails.
    public init(_ text: String) throws {
        objects = try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw TestFailure("not a JSON object: \(line)")
            }
            return object
        }
    }

    /// The lines of one `type`.
    public func of(_ type: String) -> [[String: Any]] {
        objects.filter { $0["type"] as? String == type }
    }

    /// The value at `key` of the `result` line, decoded as Quiesce's JSON.
    public func result<T: Decodable>(_ key: String, as type: T.Type) throws -> T {
        guard let result = of("result").last, let value = result[key] else { throw TestFailure("no result line with \(key)") }
        let data = try JSONSerialization.data(withJSONObject: value)
        return try JSONCoding.decode(type, from: String(decoding: data, as: UTF8.self))
    }

    /// The backup document of the `result` line of `quiescectl backup --json`.
    public static func backupDocument(_ text: String) throws -> BackupDocument {
        try JSONLines(text).result("document", as: BackupDocument.self)
    }
}
