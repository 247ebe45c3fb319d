/// How one D-Bus type (with the annotations that refine it) becomes Swift: its type, and the
/// expressions that decode it from a `BusValue` and encode it to one. The helpers the
/// expressions call (`Wire.*`) live in QuiesceProtocol.
struct WireType {
    var swiftType: String
    /// Decodes the `BusValue` named by the placeholder `$V`; `$W` is what it is called in
    /// errors. The expression throws `QuiesceError`.
    private var decodeTemplate: String
    /// Encodes the Swift value named by the placeholder `$V`.
    private var encodeTemplate: String

    func decode(_ value: String, what: String) -> String {
        decodeTemplate.replacingOccurrences(of: "$W", with: Naming.literal(what)).replacingOccurrences(of: "$V", with: value)
    }

    func encode(_ value: String) -> String {
        encodeTemplate.replacingOccurrences(of: "$V", with: value)
    }

    /// The Swift form of `signature`. `namespace` qualifies key sets; `keys` names the key set
    /// of an `a{sv}`; `json` the type an `s` carries as JSON; `swiftType` a string enumeration
    /// (for `s`) or a key set (for `a{sv}`, `a{sa{sv}}`); `fields` labels structure fields.
    init(
        _ signature: String, namespace: String, keySets: Set<String>, keys: String? = nil, json: String? = nil,
        swiftType override: String? = nil, fields: [InterfaceModel.Field] = []
    ) throws {
        let keySet = (keys ?? override).flatMap { keySets.contains($0) ? "\(namespace).\($0)" : nil }
        if (keys != nil || override.map(keySets.contains) == true) && keySet == nil {
            throw GeneratorError("unknown key set \(keys ?? override ?? "")")
        }
        switch signature {
        case "s":
            if let json {
                self.init(swiftType: json, decodeTemplate: "try Wire.json(\(json).self, $V, $W)", encodeTemplate: ".string(try Wire.jsonText($V))")
            } else if let override {
                self.init(swiftType: override, decodeTemplate: "try Wire.enumeration(\(override).self, $V, $W)", encodeTemplate: ".string($V.rawValue)")
            } else {
                self.init(swiftType: "String", decodeTemplate: "try Wire.string($V, $W)", encodeTemplate: ".string($V)")
            }
        case "o": self.init(swiftType: "String", decodeTemplate: "try Wire.objectPath($V, $W)", encodeTemplate: ".objectPath($V)")
        case "b": self.init(swiftType: "Bool", decodeTemplate: "try Wire.bool($V, $W)", encodeTemplate: ".bool($V)")
        case "i": self.init(swiftType: "Int32", decodeTemplate: "try Wire.int32($V, $W)", encodeTemplate: ".int32($V)")
        case "u": self.init(swiftType: "UInt32", decodeTemplate: "try Wire.uint32($V, $W)", encodeTemplate: ".uint32($V)")
        case "t": self.init(swiftType: "UInt64", decodeTemplate: "try Wire.uint64($V, $W)", encodeTemplate: ".uint64($V)")
        case "v": self.init(swiftType: "BusValue", decodeTemplate: "$V.unwrapped", encodeTemplate: ".variant($V)")
        case "as": self.init(swiftType: "[String]", decodeTemplate: "try Wire.strings($V, $W)", encodeTemplate: ".strings($V)")
        case "ao": self.init(swiftType: "[String]", decodeTemplate: "try Wire.objectPaths($V, $W)", encodeTemplate: "Wire.objectPaths($V)")
        case "a{ss}": self.init(swiftType: "[String: String]", decodeTemplate: "try Wire.stringDictionary($V, $W)", encodeTemplate: ".stringDictionary($V)")
        case "a{st}": self.init(swiftType: "[String: UInt64]", decodeTemplate: "try Wire.uint64Dictionary($V, $W)", encodeTemplate: "Wire.uint64Dictionary($V)")
        case "a{sv}":
            if let keySet {
                self.init(swiftType: keySet, decodeTemplate: "try \(keySet)(busValue: $V)", encodeTemplate: "$V.busValue")
            } else {
                self.init(swiftType: "[String: BusValue]", decodeTemplate: "try Wire.vardict($V, $W)", encodeTemplate: ".vardict($V)")
            }
        case "a{sa{sv}}":
            guard let keySet else { throw GeneratorError("a{sa{sv}} needs a key set for its values") }
            self.init(
                swiftType: "[String: \(keySet)]",
                decodeTemplate: "try Wire.vardicts($V, $W) { try \(keySet)(busValue: $0) }",
                encodeTemplate: "Wire.vardicts($V) { $0.busValue }"
            )
        default:
            guard signature.hasPrefix("a("), signature.hasSuffix(")") else { throw GeneratorError("no Swift form for the D-Bus type \(signature)") }
            let fieldTypes = signature.dropFirst(2).dropLast().map(String.init)
            guard fields.isEmpty || fields.count == fieldTypes.count else {
                throw GeneratorError("\(signature) has \(fieldTypes.count) fields but org.quiesce.Fields names \(fields.count)")
            }
            let parts = try fieldTypes.enumerated().map { index, type in
                try WireType(type, namespace: namespace, keySets: keySets, swiftType: fields.isEmpty ? nil : fields[index].swiftType)
            }
            let labels = fields.isEmpty ? fieldTypes.indices.map { "field\($0)" } : fields.map(\.label)
            let tuple = "(" + zip(labels, parts).map { "\($0): \($1.swiftType)" }.joined(separator: ", ") + ")"
            let decodeFields = zip(labels, parts).enumerated().map { index, pair in
                "\(pair.0): " + pair.1.decode("$0[\(index)]", what: pair.0)
            }.joined(separator: ", ")
            let encodeFields = zip(labels, parts).map { $1.encode("$0.\($0)") }.joined(separator: ", ")
            self.init(
                swiftType: "[\(tuple)]",
                decodeTemplate: "try Wire.structures($V, fields: \(fieldTypes.count), $W).map { (\(decodeFields)) }",
                encodeTemplate: ".array(elementType: \(Naming.literal(String(signature.dropFirst()))), $V.map { .structure([\(encodeFields)]) })"
            )
        }
    }

    private init(swiftType: String, decodeTemplate: String, encodeTemplate: String) {
        self.swiftType = swiftType
        self.decodeTemplate = decodeTemplate
        self.encodeTemplate = encodeTemplate
    }
}
