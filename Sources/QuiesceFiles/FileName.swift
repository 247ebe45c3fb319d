/// One element of a path as the kernel stores it: any bytes but `/` and NUL, which need not be
/// UTF-8. Encoded as a JSON string when it is valid UTF-8, else as `{"bytes": [...]}`.
public struct FileName: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The name's bytes.
    public let bytes: [UInt8]

    /// A name from its bytes; `nil` for an empty name, `.`, `..` or one holding `/` or NUL.
    public init?(bytes: [UInt8]) {
        guard !bytes.isEmpty, bytes != [0x2E], bytes != [0x2E, 0x2E], !bytes.contains(0x2F), !bytes.contains(0) else { return nil }
        self.bytes = bytes
    }

    /// A name from a string; `nil` when it is not a single path element.
    public init?(_ string: String) {
        self.init(bytes: Array(string.utf8))
    }

    /// The name, with invalid UTF-8 shown as U+FFFD.
    public var description: String { String(decoding: bytes, as: UTF8.self) }

    /// The name as a string, when it is valid UTF-8.
    public var string: String? { String(validating: bytes, as: UTF8.self) }

    /// Calls `body` with the name as a C string.
    public func withCString<Result>(_ body: (UnsafePointer<CChar>) throws -> Result) rethrows -> Result {
        try (bytes + [0]).withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    public static func < (lhs: FileName, rhs: FileName) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    private enum CodingKeys: String, CodingKey { case bytes }

    public init(from decoder: any Decoder) throws {
        let bytes: [UInt8]
        if let string = try? decoder.singleValueContainer().decode(String.self) {
            bytes = Array(string.utf8)
        } else {
            bytes = try decoder.container(keyedBy: CodingKeys.self).decode([UInt8].self, forKey: .bytes)
        }
        guard let name = FileName(bytes: bytes) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a file name"))
        }
        self = name
    }

    public func encode(to encoder: any Encoder) throws {
        if let string {
            var container = encoder.singleValueContainer()
            try container.encode(string)
        } else {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(bytes, forKey: .bytes)
        }
    }
}

/// A path relative to a directory: one or more ``FileName``s, never `..`.
public struct RelativePath: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The elements, outermost first.
    public var elements: [FileName]

    /// A path from its elements (at least one).
    public init(_ elements: [FileName]) {
        precondition(!elements.isEmpty, "a relative path has at least one element")
        self.elements = elements
    }

    /// Parses `a/b/c`; `nil` when it is empty, absolute, or has an empty, `.` or `..` element.
    public init?(_ string: String) {
        let parts = string.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)  // by bytes, as the kernel splits
        let names = parts.compactMap { FileName(bytes: Array($0)) }
        guard string.utf8.first != UInt8(ascii: "/"), !names.isEmpty, names.count == parts.count else { return nil }
        self.elements = names
    }

    /// The last element.
    public var name: FileName { elements[elements.count - 1] }

    /// The elements before the last one (empty for a single name).
    public var parentElements: [FileName] { Array(elements.dropLast()) }

    /// `a/b/c`.
    public var description: String { elements.map(\.description).joined(separator: "/") }

    /// The bytes of `a/b/c`.
    public var bytes: [UInt8] { Array(elements.map(\.bytes).joined(separator: [0x2F])) }

    public static func < (lhs: RelativePath, rhs: RelativePath) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}
