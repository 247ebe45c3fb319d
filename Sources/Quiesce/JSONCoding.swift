#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The JSON form Quiesce uses for documents on the bus and on disk: sorted keys,
/// kebab-case keys, ISO 8601 dates.
public enum JSONCoding {
    /// Encodes a value to a JSON string.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .custom { keys in KebabKey(keys.last!.stringValue.kebabCased) }
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Decodes a value from a JSON string.
    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .custom { keys in KebabKey(keys.last!.stringValue.camelCased) }
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(text.utf8))
    }

    /// A decoding error as a reader of the document would say it, with kebab-case keys and
    /// the path to the offending value: `the key class-id is missing`, `components[0].type:
    /// "db" is not valid`.
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue.kebabCased)" }.joined().drop { $0 == "." }.description
        }
        switch error {
        case .keyNotFound(let key, let context):
            let place = path(context.codingPath)
            return "the key \(key.stringValue.kebabCased) is missing" + (place.isEmpty ? "" : " in \(place)")
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(type)"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(type), found null"
        case .dataCorrupted(let context):
            let place = path(context.codingPath)
            let underlying = (context.underlyingError.map { "\($0)" } ?? context.debugDescription)
            return place.isEmpty ? "not JSON: \(underlying)" : "\(place): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

private struct KebabKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

extension String {
    /// `applicationLevel` → `application-level`. Keys are ASCII Swift names,
    /// so bytes suffice (Unicode property lookups showed in profiles of Identify).
    fileprivate var kebabCased: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count + 4)
        for byte in utf8 {
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") {
                bytes.append(UInt8(ascii: "-"))
                bytes.append(byte + 32)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    fileprivate var camelCased: String {
        let parts = split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first else { return self }
        return String(first) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}
