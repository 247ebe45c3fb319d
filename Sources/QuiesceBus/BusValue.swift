/// A D-Bus value with its type, as sent and received on the bus.
public indirect enum BusValue: Sendable, Hashable {
    case bool(Bool)
    case byte(UInt8)
    case int16(Int16)
    case uint16(UInt16)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case uint64(UInt64)
    case double(Double)
    case string(String)
    case objectPath(String)
    case signature(String)
    case variant(BusValue)
    /// An array whose elements have the type `elementType` (needed for empty arrays).
    case array(elementType: String, [BusValue])
    /// A dictionary (`a{kv}`); entries keep their order.
    case dictionary(keyType: String, valueType: String, [DictionaryEntry])
    case structure([BusValue])

    /// One entry of a dictionary.
    public struct DictionaryEntry: Sendable, Hashable {
        /// The key (a basic type).
        public var key: BusValue
        /// The value.
        public var value: BusValue

        /// Creates an entry.
        public init(key: BusValue, value: BusValue) {
            self.key = key
            self.value = value
        }
    }

    /// The D-Bus type signature of the value.
    public var signature: String {
        switch self {
        case .bool: "b"
        case .byte: "y"
        case .int16: "n"
        case .uint16: "q"
        case .int32: "i"
        case .uint32: "u"
        case .int64: "x"
        case .uint64: "t"
        case .double: "d"
        case .string: "s"
        case .objectPath: "o"
        case .signature: "g"
        case .variant: "v"
        case .array(let elementType, _): "a" + elementType
        case .dictionary(let keyType, let valueType, _): "a{" + keyType + valueType + "}"
        case .structure(let fields): "(" + fields.map(\.signature).joined() + ")"
        }
    }
}

extension BusValue {
    /// An `as` array.
    public static func strings(_ values: [String]) -> BusValue {
        .array(elementType: "s", values.map(BusValue.string))
    }

    /// An `a{sv}` dictionary, sorted by key.
    public static func vardict(_ values: [String: BusValue]) -> BusValue {
        .dictionary(
            keyType: "s",
            valueType: "v",
            values.sorted { $0.key < $1.key }.map { DictionaryEntry(key: .string($0.key), value: .variant($0.value)) }
        )
    }

    /// An `a{ss}` dictionary, sorted by key.
    public static func stringDictionary(_ values: [String: String]) -> BusValue {
        .dictionary(
            keyType: "s",
            valueType: "s",
            values.sorted { $0.key < $1.key }.map { DictionaryEntry(key: .string($0.key), value: .string($0.value)) }
        )
    }

    /// The value inside any number of variants.
    public var unwrapped: BusValue {
        if case .variant(let inner) = self { return inner.unwrapped }
        return self
    }

    /// The string of a `s`, `o` or `g` value.
    public var stringValue: String? {
        switch unwrapped {
        case .string(let s), .objectPath(let s), .signature(let s): s
        default: nil
        }
    }

    /// The value of a `b`.
    public var boolValue: Bool? {
        if case .bool(let b) = unwrapped { return b }
        return nil
    }

    /// The value of any unsigned or non-negative signed integer.
    public var uint64Value: UInt64? {
        switch unwrapped {
        case .byte(let v): UInt64(v)
        case .uint16(let v): UInt64(v)
        case .uint32(let v): UInt64(v)
        case .uint64(let v): v
        case .int16(let v): UInt64(exactly: v)
        case .int32(let v): UInt64(exactly: v)
        case .int64(let v): UInt64(exactly: v)
        default: nil
        }
    }

    /// The elements of an array, or the fields of a structure.
    public var elements: [BusValue]? {
        switch unwrapped {
        case .array(_, let values), .structure(let values): values
        default: nil
        }
    }

    /// The strings of an `as`, `ao` or `ag` array.
    public var stringArray: [String]? {
        guard case .array(_, let values) = unwrapped else { return nil }
        let strings = values.compactMap(\.stringValue)
        return strings.count == values.count ? strings : nil
    }

    /// The entries of a dictionary with string keys; values keep their variant wrapping removed.
    public var stringKeyedDictionary: [String: BusValue]? {
        guard case .dictionary(let keyType, _, let entries) = unwrapped, keyType == "s" else { return nil }
        var result: [String: BusValue] = [:]
        for entry in entries {
            guard let key = entry.key.stringValue else { return nil }
            result[key] = entry.value.unwrapped
        }
        return result
    }
}

extension String {
    /// D-Bus strings are UTF-8 without NUL; Swift strings are valid UTF-8 already, so only NUL
    /// needs replacing (with U+FFFD).
    package var validUTF8WithoutNUL: String {
        utf8.contains(0) ? String(map { $0 == "\0" ? "\u{FFFD}" : $0 }) : self
    }
}
