internal import CDBus
import QuiesceBus

/// The D-Bus type codes, as libdbus-1's `DBUS_TYPE_*` (macros Swift does not import).
enum TypeCode {
    static let invalid: Int32 = 0
    static let bool = code("b"), byte = code("y"), int16 = code("n"), uint16 = code("q")
    static let int32 = code("i"), uint32 = code("u"), int64 = code("x"), uint64 = code("t")
    static let double = code("d"), string = code("s"), objectPath = code("o"), signature = code("g")
    static let unixFD = code("h"), variant = code("v"), array = code("a"), structure = code("r"), dictEntry = code("e")

    private static func code(_ character: Unicode.Scalar) -> Int32 { Int32(character.value) }
}

extension BusValue {
    /// Appends the value at `iter` (a message's arguments or a container being written).
    func append(to iter: inout DBusMessageIter) {
        switch self {
        case .bool(let value): Self.appendBasic(&iter, TypeCode.bool, dbus_bool_t(value ? 1 : 0))
        case .byte(let value): Self.appendBasic(&iter, TypeCode.byte, value)
        case .int16(let value): Self.appendBasic(&iter, TypeCode.int16, value)
        case .uint16(let value): Self.appendBasic(&iter, TypeCode.uint16, value)
        case .int32(let value): Self.appendBasic(&iter, TypeCode.int32, value)
        case .uint32(let value): Self.appendBasic(&iter, TypeCode.uint32, value)
        case .int64(let value): Self.appendBasic(&iter, TypeCode.int64, value)
        case .uint64(let value): Self.appendBasic(&iter, TypeCode.uint64, value)
        case .double(let value): Self.appendBasic(&iter, TypeCode.double, value)
        case .string(let value): Self.appendText(&iter, TypeCode.string, value.validUTF8WithoutNUL)
        case .objectPath(let value): Self.appendText(&iter, TypeCode.objectPath, value)
        case .signature(let value): Self.appendText(&iter, TypeCode.signature, value)
        case .variant(let inner):
            Self.appendContainer(&iter, TypeCode.variant, signature: inner.signature) { inner.append(to: &$0) }
        case .array(let elementType, let values):
            Self.appendContainer(&iter, TypeCode.array, signature: elementType) { sub in
                for value in values { value.append(to: &sub) }
            }
        case .dictionary(let keyType, let valueType, let entries):
            Self.appendContainer(&iter, TypeCode.array, signature: "{" + keyType + valueType + "}") { sub in
                for entry in entries {
                    Self.appendContainer(&sub, TypeCode.dictEntry, signature: nil) { pair in
                        entry.key.append(to: &pair)
                        entry.value.append(to: &pair)
                    }
                }
            }
        case .structure(let fields):
            Self.appendContainer(&iter, TypeCode.structure, signature: nil) { sub in
                for field in fields { field.append(to: &sub) }
            }
        }
    }

    private static func appendBasic<T: BitwiseCopyable>(_ iter: inout DBusMessageIter, _ type: Int32, _ value: T) {
        var value = value
        dbus_message_iter_append_basic(&iter, type, &value)
    }

    private static func appendText(_ iter: inout DBusMessageIter, _ type: Int32, _ text: String) {
        text.withCString { pointer in
            var pointer: UnsafePointer<CChar>? = pointer
            dbus_message_iter_append_basic(&iter, type, &pointer)
        }
    }

    private static func appendContainer(_ iter: inout DBusMessageIter, _ type: Int32, signature: String?, _ body: (inout DBusMessageIter) -> Void) {
        var sub = DBusMessageIter()
        if let signature {
            signature.withCString { _ = dbus_message_iter_open_container(&iter, type, $0, &sub) }
        } else {
            dbus_message_iter_open_container(&iter, type, nil, &sub)
        }
        body(&sub)
        dbus_message_iter_close_container(&iter, &sub)
    }

    /// Reads the value at `iter` (not advancing it).
    init(reading iter: inout DBusMessageIter) {
        let type = dbus_message_iter_get_arg_type(&iter)
        switch type {
        case TypeCode.bool: self = .bool(Self.basic(&iter, dbus_bool_t(0)) != 0)
        case TypeCode.byte: self = .byte(Self.basic(&iter, UInt8(0)))
        case TypeCode.int16: self = .int16(Self.basic(&iter, Int16(0)))
        case TypeCode.uint16: self = .uint16(Self.basic(&iter, UInt16(0)))
        case TypeCode.int32: self = .int32(Self.basic(&iter, Int32(0)))
        case TypeCode.uint32: self = .uint32(Self.basic(&iter, UInt32(0)))
        case TypeCode.int64: self = .int64(Self.basic(&iter, Int64(0)))
        case TypeCode.uint64: self = .uint64(Self.basic(&iter, UInt64(0)))
        case TypeCode.double: self = .double(Self.basic(&iter, Double(0)))
        case TypeCode.string: self = .string(Self.text(&iter))
        case TypeCode.objectPath: self = .objectPath(Self.text(&iter))
        case TypeCode.signature: self = .signature(Self.text(&iter))
        case TypeCode.unixFD: self = .int32(-1)  // in no interface of ours (their signatures refuse it); reading it would take the descriptor
        case TypeCode.variant:
            var sub = DBusMessageIter()
            dbus_message_iter_recurse(&iter, &sub)
            self = .variant(BusValue(reading: &sub))
        case TypeCode.array:
            let signature = Self.signature(of: &iter)
            var sub = DBusMessageIter()
            dbus_message_iter_recurse(&iter, &sub)
            if dbus_message_iter_get_element_type(&iter) == TypeCode.dictEntry {
                var entries: [DictionaryEntry] = []
                while dbus_message_iter_get_arg_type(&sub) == TypeCode.dictEntry {
                    var pair = DBusMessageIter()
                    dbus_message_iter_recurse(&sub, &pair)
                    let key = BusValue(reading: &pair)
                    dbus_message_iter_next(&pair)
                    entries.append(DictionaryEntry(key: key, value: BusValue(reading: &pair)))
                    dbus_message_iter_next(&sub)
                }
                self = .dictionary(keyType: String(signature.dropFirst(2).prefix(1)), valueType: String(signature.dropFirst(3).dropLast()), entries)
            } else {
                self = .array(elementType: String(signature.dropFirst()), Self.values(&sub))
            }
        default:
            // A structure or a dictionary entry.
            var sub = DBusMessageIter()
            dbus_message_iter_recurse(&iter, &sub)
            self = .structure(Self.values(&sub))
        }
    }

    /// Every value from `iter` to the end of its container.
    static func values(_ iter: inout DBusMessageIter) -> [BusValue] {
        var values: [BusValue] = []
        while dbus_message_iter_get_arg_type(&iter) != TypeCode.invalid {
            values.append(BusValue(reading: &iter))
            dbus_message_iter_next(&iter)
        }
        return values
    }

    /// A message's arguments.
    static func arguments(of message: OpaquePointer) -> [BusValue] {
        var iter = DBusMessageIter()
        guard dbus_message_iter_init(message, &iter) != 0 else { return [] }
        return values(&iter)
    }

    /// Appends `values` as a message's arguments.
    static func append(_ values: [BusValue], to message: OpaquePointer) {
        var iter = DBusMessageIter()
        dbus_message_iter_init_append(message, &iter)
        for value in values { value.append(to: &iter) }
    }

    private static func basic<T: BitwiseCopyable>(_ iter: inout DBusMessageIter, _ initial: T) -> T {
        var value = initial
        dbus_message_iter_get_basic(&iter, &value)
        return value
    }

    private static func text(_ iter: inout DBusMessageIter) -> String {
        var pointer: UnsafePointer<CChar>?
        dbus_message_iter_get_basic(&iter, &pointer)
        return pointer.map { String(cString: $0) } ?? ""
    }

    private static func signature(of iter: inout DBusMessageIter) -> String {
        guard let pointer = dbus_message_iter_get_signature(&iter) else { return "" }
        defer { dbus_free(pointer) }
        return String(cString: pointer)
    }
}
