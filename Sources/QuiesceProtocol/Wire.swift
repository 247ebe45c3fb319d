#if canImport(Glibc)
import Glibc
#endif
import Quiesce
import QuiesceBus

/// The decoders and encoders the generated layer calls: each checks one D-Bus value and
/// names it (`what`) in the `InvalidArgument` it throws otherwise.
public enum Wire {
    static func invalid(_ what: String, _ expected: String) -> QuiesceError {
        QuiesceError(.invalidArgument, "\(what) must be \(expected)")
    }

    /// `s`.
    public static func string(_ value: BusValue, _ what: String) throws(QuiesceError) -> String {
        guard case .string(let text) = value.unwrapped else { throw invalid(what, "a string (s)") }
        return text
    }

    /// `o`.
    public static func objectPath(_ value: BusValue, _ what: String) throws(QuiesceError) -> String {
        guard case .objectPath(let path) = value.unwrapped else { throw invalid(what, "an object path (o)") }
        return path
    }

    /// `b`.
    public static func bool(_ value: BusValue, _ what: String) throws(QuiesceError) -> Bool {
        guard case .bool(let flag) = value.unwrapped else { throw invalid(what, "a boolean (b)") }
        return flag
    }

    /// `i`.
    public static func int32(_ value: BusValue, _ what: String) throws(QuiesceError) -> Int32 {
        guard case .int32(let number) = value.unwrapped else { throw invalid(what, "a 32-bit integer (i)") }
        return number
    }

    /// `u`.
    public static func uint32(_ value: BusValue, _ what: String) throws(QuiesceError) -> UInt32 {
        guard case .uint32(let number) = value.unwrapped else { throw invalid(what, "an unsigned 32-bit integer (u)") }
        return number
    }

    /// `t`.
    public static func uint64(_ value: BusValue, _ what: String) throws(QuiesceError) -> UInt64 {
        guard case .uint64(let number) = value.unwrapped else { throw invalid(what, "an unsigned 64-bit integer (t)") }
        return number
    }

    /// `s` holding one of a string enumeration's values.
    public static func enumeration<T: RawRepresentable & CaseIterable>(_ type: T.Type, _ value: BusValue, _ what: String) throws(QuiesceError) -> T
    where T.RawValue == String {
        guard let parsed = T(rawValue: try string(value, what)) else {
            throw invalid(what, "one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return parsed
    }

    /// `s` holding a JSON document of `type` (JSONCoding: kebab-case keys).
    public static func json<T: Decodable>(_ type: T.Type, _ value: BusValue, _ what: String) throws(QuiesceError) -> T {
        let text = try string(value, what)
        do { return try JSONCoding.decode(type, from: text) } catch {
            throw QuiesceError(.invalidArgument, "\(what) is not a valid JSON document: \(JSONCoding.describe(error))", cause: error)
        }
    }

    /// A JSON reply, refused with `TooLarge` rather than sent over the bus's message limit
    /// (which would make the bus disconnect the sender).
    public static func jsonText<T: Encodable>(_ value: T) throws(QuiesceError) -> String {
        let text: String
        do { text = try JSONCoding.encode(value) } catch { throw QuiesceError(.failed, "the reply cannot be encoded: \(error)", cause: error) }
        guard text.utf8.count <= InputLimits.replyBytes else {
            throw QuiesceError(.tooLarge, "the reply would be \(text.utf8.count) bytes; the limit is \(InputLimits.replyBytes)")
        }
        return text
    }

    /// `as`.
    public static func strings(_ value: BusValue, _ what: String) throws(QuiesceError) -> [String] {
        guard case .array(_, let elements) = value.unwrapped else { throw invalid(what, "an array of strings (as)") }
        return try elements.map { (element) throws(QuiesceError) in try string(element, what) }
    }

    /// `ao`.
    public static func objectPaths(_ value: BusValue, _ what: String) throws(QuiesceError) -> [String] {
        guard case .array(_, let elements) = value.unwrapped else { throw invalid(what, "an array of object paths (ao)") }
        return try elements.map { (element) throws(QuiesceError) in try objectPath(element, what) }
    }

    /// `ao` from paths.
    public static func objectPaths(_ paths: [String]) -> BusValue {
        .array(elementType: "o", paths.map(BusValue.objectPath))
    }

    /// The entries of a dictionary with string keys.
    private static func entries(_ value: BusValue, _ what: String, _ expected: String) throws(QuiesceError) -> [(String, BusValue)] {
        guard case .dictionary(let keyType, _, let entries) = value.unwrapped, keyType == "s" else { throw invalid(what, expected) }
        return try entries.map { (entry) throws(QuiesceError) in
            guard case .string(let key) = entry.key else { throw invalid(what, expected) }
            return (key, entry.value)
        }
    }

    /// `a{ss}`.
    public static func stringDictionary(_ value: BusValue, _ what: String) throws(QuiesceError) -> [String: String] {
        var result: [String: String] = [:]
        for (key, item) in try entries(value, what, "a{ss}") { result[key] = try string(item, "\(what)[\(key)]") }
        return result
    }

    /// `a{st}`.
    public static func uint64Dictionary(_ value: BusValue, _ what: String) throws(QuiesceError) -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for (key, item) in try entries(value, what, "a{st}") { result[key] = try uint64(item, "\(what)[\(key)]") }
        return result
    }

    /// `a{st}` from a dictionary, sorted by key.
    public static func uint64Dictionary(_ values: [String: UInt64]) -> BusValue {
        .dictionary(keyType: "s", valueType: "t", values.sorted { $0.key < $1.key }.map { .init(key: .string($0.key), value: .uint64($0.value)) })
    }

    /// `a{sv}`; a repeated key's last value wins.
    public static func vardict(_ value: BusValue, _ what: String) throws(QuiesceError) -> [String: BusValue] {
        Dictionary(try vardictEntries(value, what), uniquingKeysWith: { $1 })
    }

    /// The entries of an `a{sv}` in the order they came, each value out of its variant (what a
    /// generated key set reads, without building a dictionary first).
    public static func vardictEntries(_ value: BusValue, _ what: String) throws(QuiesceError) -> [(String, BusValue)] {
        try entries(value, what, "a dictionary a{sv}").map { ($0.0, $0.1.unwrapped) }
    }

    /// `a{sa{sv}}`, each value read by `read`.
    public static func vardicts<T>(_ value: BusValue, _ what: String, _ read: (BusValue) throws -> T) throws(QuiesceError) -> [String: T] {
        var result: [String: T] = [:]
        for (key, item) in try entries(value, what, "a{sa{sv}}") {
            do { result[key] = try read(item) } catch { throw QuiesceError(error) }
        }
        return result
    }

    /// `a{sa{sv}}` from a dictionary, each value written by `write`.
    public static func vardicts<T>(_ values: [String: T], _ write: (T) -> BusValue) -> BusValue {
        .dictionary(keyType: "s", valueType: "a{sv}", values.sorted { $0.key < $1.key }.map { .init(key: .string($0.key), value: write($0.value)) })
    }

    /// An array of structures of `fields` fields each: their fields.
    public static func structures(_ value: BusValue, fields: Int, _ what: String) throws(QuiesceError) -> [[BusValue]] {
        guard case .array(_, let elements) = value.unwrapped else { throw invalid(what, "an array of structures") }
        return try elements.map { (element) throws(QuiesceError) in
            guard case .structure(let values) = element, values.count == fields else { throw invalid(what, "an array of \(fields)-field structures") }
            return values
        }
    }

    /// Reports on standard error (`quiesce: BUG: …`) a Quiesce error that `method` returned
    /// although its XML does not list it: the contract promises every error a method can
    /// return is listed. The tests fail on any such line.
    public static func checkListed(_ error: QuiesceError, method: String, listed: [QuiesceError.Code]) {
        guard QuiesceError.Code.declared.contains(error.code), !listed.contains(error.code) else { return }
        var line = "quiesce: BUG: \(method) returned \(error.code.rawValue), which its XML does not list (org.quiesce.Errors): \(error.message)\n"
        line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    /// The error for a key a set does not have.
    public static func unknownKey(_ key: String, of set: String, known: [String]) -> QuiesceError {
        QuiesceError(.invalidArgument, "unknown key \(key) in \(set); known: " + (known.isEmpty ? "none" : known.joined(separator: ", ")))
    }

    /// The reply's argument at `index`.
    public static func argument(_ reply: [BusValue], _ index: Int) throws(QuiesceError) -> BusValue {
        guard index < reply.count else { throw QuiesceError(.invalidReply, "the reply has \(reply.count) values; expected at least \(index + 1)") }
        return reply[index]
    }

    /// Decodes a reply of `method`; what does not decode is an `InvalidReply`.
    public static func reply<T>(_ method: String, _ decode: () throws -> T) throws(QuiesceError) -> T {
        do { return try decode() } catch {
            throw QuiesceError(.invalidReply, "the reply to \(method) breaks the contract: \(QuiesceError(error).message)", cause: error)
        }
    }
}
