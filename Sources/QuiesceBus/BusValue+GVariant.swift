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

    /// Reads a GVariant (not consuming it). Only containers look at their type string; basic
    /// values are read by their class, without building one.
    init(gvariant: OpaquePointer) {
        switch g_variant_classify(gvariant) {
        case G_VARIANT_CLASS_BOOLEAN: self = .bool(g_variant_get_boolean(gvariant) != 0)
        case G_VARIANT_CLASS_BYTE: self = .byte(g_variant_get_byte(gvariant))
        case G_VARIANT_CLASS_INT16: self = .int16(g_variant_get_int16(gvariant))
        case G_VARIANT_CLASS_UINT16: self = .uint16(g_variant_get_uint16(gvariant))
        case G_VARIANT_CLASS_INT32: self = .int32(g_variant_get_int32(gvariant))
        case G_VARIANT_CLASS_HANDLE: self = .int32(g_variant_get_handle(gvariant))
        case G_VARIANT_CLASS_UINT32: self = .uint32(g_variant_get_uint32(gvariant))
        case G_VARIANT_CLASS_INT64: self = .int64(Int64(g_variant_get_int64(gvariant)))
        case G_VARIANT_CLASS_UINT64: self = .uint64(UInt64(g_variant_get_uint64(gvariant)))
        case G_VARIANT_CLASS_DOUBLE: self = .double(g_variant_get_double(gvariant))
        case G_VARIANT_CLASS_STRING: self = .string(String(cString: g_variant_get_string(gvariant, nil)))
        case G_VARIANT_CLASS_OBJECT_PATH: self = .objectPath(String(cString: g_variant_get_string(gvariant, nil)))
        case G_VARIANT_CLASS_SIGNATURE: self = .signature(String(cString: g_variant_get_string(gvariant, nil)))
        case G_VARIANT_CLASS_VARIANT:
            let inner = g_variant_get_variant(gvariant)!
            defer { g_variant_unref(inner) }
            self = .variant(BusValue(gvariant: inner))
        case G_VARIANT_CLASS_ARRAY:
            let elementType = String(cString: g_variant_get_type_string(gvariant)).dropFirst()
            if elementType.hasPrefix("{") {
                self = .dictionary(
                    keyType: String(elementType.dropFirst().prefix(1)), valueType: String(elementType.dropFirst(2).dropLast()), Self.entries(of: gvariant)
                )
            } else {
                self = .array(elementType: String(elementType), Self.children(of: gvariant))
            }
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

    /// The entries of a dictionary GVariant (`a{..}`).
    private static func entries(of gvariant: OpaquePointer) -> [DictionaryEntry] {
        let count = g_variant_n_children(gvariant)
        return (0..<count).map { index in
            let entry = g_variant_get_child_value(gvariant, index)!
            let key = g_variant_get_child_value(entry, 0)!
            let value = g_variant_get_child_value(entry, 1)!
            defer {
                g_variant_unref(value)
                g_variant_unref(key)
                g_variant_unref(entry)
            }
            return DictionaryEntry(key: BusValue(gvariant: key), value: BusValue(gvariant: value))
        }
    }
}
