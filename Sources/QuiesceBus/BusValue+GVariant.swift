internal import CGLib

extension BusValue {
    /// A new floating GVariant holding the value.
    func makeGVariant() -> OpaquePointer {
        switch self {
        case .bool(let v): return g_variant_new_boolean(v ? 1 : 0)
        case .byte(let v): return g_variant_new_byte(v)
        case .int16(let v): return g_variant_new_int16(v)
        case .uint16(let v): return g_variant_new_uint16(v)
        case .int32(let v): return g_variant_new_int32(v)
        case .uint32(let v): return g_variant_new_uint32(v)
        case .int64(let v): return g_variant_new_int64(gint64(v))
        case .uint64(let v): return g_variant_new_uint64(guint64(v))
        case .double(let v): return g_variant_new_double(v)
        case .string(let v): return g_variant_new_string(v.validUTF8WithoutNUL)
        case .objectPath(let v): return g_variant_new_object_path(v)
        case .signature(let v): return g_variant_new_signature(v)
        case .variant(let inner): return g_variant_new_variant(inner.makeGVariant())
        case .array(let elementType, let values):
            return Self.makeContainer(elementType: elementType, children: values.map { $0.makeGVariant() })
        case .dictionary(let keyType, let valueType, let entries):
            let children = entries.map { g_variant_new_dict_entry($0.key.makeGVariant(), $0.value.makeGVariant())! }
            return Self.makeContainer(elementType: "{" + keyType + valueType + "}", children: children)
        case .structure(let fields):
            return Self.makeTuple(fields)
        }
    }

    /// A new floating tuple GVariant of `values`: the body of a message.
    static func makeTuple(_ values: [BusValue]) -> OpaquePointer {
        let children: [OpaquePointer?] = values.map { $0.makeGVariant() }
        return children.withUnsafeBufferPointer { g_variant_new_tuple($0.baseAddress, gsize($0.count)) }
    }

    private static func makeContainer(elementType: String, children: [OpaquePointer]) -> OpaquePointer {
        let type = g_variant_type_new(elementType)
        defer { g_variant_type_free(type) }
        let optionals: [OpaquePointer?] = children
        return optionals.withUnsafeBufferPointer { g_variant_new_array(type, $0.baseAddress, gsize($0.count)) }
    }

    /// Reads a GVariant (not consuming it).
    init(gvariant: OpaquePointer) {
        let typeString = String(cString: g_variant_get_type_string(gvariant))
        switch typeString.first {
        case "b": self = .bool(g_variant_get_boolean(gvariant) != 0)
        case "y": self = .byte(g_variant_get_byte(gvariant))
        case "n": self = .int16(g_variant_get_int16(gvariant))
        case "q": self = .uint16(g_variant_get_uint16(gvariant))
        case "i": self = .int32(g_variant_get_int32(gvariant))
        case "h": self = .int32(g_variant_get_handle(gvariant))
        case "u": self = .uint32(g_variant_get_uint32(gvariant))
        case "x": self = .int64(Int64(g_variant_get_int64(gvariant)))
        case "t": self = .uint64(UInt64(g_variant_get_uint64(gvariant)))
        case "d": self = .double(g_variant_get_double(gvariant))
        case "s": self = .string(String(cString: g_variant_get_string(gvariant, nil)))
        case "o": self = .objectPath(String(cString: g_variant_get_string(gvariant, nil)))
        case "g": self = .signature(String(cString: g_variant_get_string(gvariant, nil)))
        case "v":
            let inner = g_variant_get_variant(gvariant)!
            defer { g_variant_unref(inner) }
            self = .variant(BusValue(gvariant: inner))
        case "a" where typeString.hasPrefix("a{"):
            let keyType = String(typeString.dropFirst(2).prefix(1))
            let valueType = String(typeString.dropFirst(3).dropLast())
            let entries = Self.children(of: gvariant).map { entry in
                DictionaryEntry(key: entry.elements![0], value: entry.elements![1])
            }
            self = .dictionary(keyType: keyType, valueType: valueType, entries)
        case "a":
            self = .array(elementType: String(typeString.dropFirst()), Self.children(of: gvariant))
        default:
            // A structure "(...)" or a dictionary entry "{..}".
            self = .structure(Self.children(of: gvariant))
        }
    }

    /// The children of a container GVariant (a tuple's fields, an array's elements).
    static func children(of gvariant: OpaquePointer) -> [BusValue] {
        let count = g_variant_n_children(gvariant)
        return (0..<count).map { index in
            let child = g_variant_get_child_value(gvariant, index)!
            defer { g_variant_unref(child) }
            return BusValue(gvariant: child)
        }
    }
}

extension String {
    /// D-Bus strings are UTF-8 without NUL; Swift strings are valid UTF-8 already, so only NUL
    /// needs replacing.
    fileprivate var validUTF8WithoutNUL: String {
        contains("\0") ? String(map { $0 == "\0" ? "\u{FFFD}" : $0 }) : self
    }
}
