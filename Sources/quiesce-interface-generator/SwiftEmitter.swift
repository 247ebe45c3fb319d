/// Writes the Swift for one interface: its namespace (name, XML, methods, properties, signals,
/// key sets), the server protocol with its dispatcher, and the client proxy.
struct SwiftEmitter {
    let model: InterfaceModel
    /// Every error declared in any interface file, by short name (`BadState`).
    let knownErrors: Set<String>
    private var keySetNames: Set<String> { Set(model.keySets.map(\.name)) }
    private var namespace: String { model.shortName }

    init(model: InterfaceModel, knownErrors: Set<String>) {
        self.model = model
        self.knownErrors = knownErrors
    }

    func emit() throws -> String {
        try check()
        var out = ""
        out += Naming.doc("`\(model.name)`: \(model.doc)\n\nGenerated from `dbus/\(model.name).xml`.", indent: "")
        out += "public enum \(namespace) {\n"
        out += "    /// The interface name.\n    public static let name = \(Naming.literal(model.name))\n\n"
        out += "    /// The introspection XML, exactly as in `dbus/\(model.name).xml`.\n"
        out += "    public static let xml = #\"\"\"\n\(model.xml)\n\"\"\"#\n\n"
        out += emitMethodEnum()
        out += emitGroupEnums()
        out += emitNameEnum("Property", "The interface's properties.", model.properties)
        out += emitNameEnum("Signal", "The interface's signals.", model.signals.map { .init(name: $0.name, doc: $0.doc) })
        for keySet in model.keySets { out += try emitKeySet(keySet) }
        out += "}\n\n"
        out += try emitServer()
        out += try emitProxy()
        return out
    }

    // MARK: - Checks

    private func check() throws {
        for method in model.methods {
            for error in method.errors where !knownErrors.contains(error) {
                throw GeneratorError("\(model.name).\(method.name) lists \(error), which no interface declares as org.quiesce.Error.\(error)")
            }
        }
        for (group, members) in groups {
            guard Set(members.map(\.signature)).count == 1 else { throw GeneratorError("the methods of group \(group) do not share one signature") }
        }
    }

    private var groups: [(String, [InterfaceModel.Method])] {
        var result: [(String, [InterfaceModel.Method])] = []
        for method in model.methods {
            guard let group = method.group else { continue }
            if let index = result.firstIndex(where: { $0.0 == group }) { result[index].1.append(method) } else { result.append((group, [method])) }
        }
        return result
    }

    // MARK: - Namespace

    private func emitMethodEnum() -> String {
        var out = "    /// The interface's methods.\n    public enum Method: String, Sendable, CaseIterable {\n"
        for method in model.methods {
            out += Naming.doc(method.doc, indent: "        ")
            out += "        case \(Naming.lowerCamel(fromPascal: method.name)) = \(Naming.literal(method.name))\n"
        }
        out += "\n        /// The errors the method may return (its `org.quiesce.Errors` annotation).\n"
        out += "        public var errors: [QuiesceError.Code] {\n            switch self {\n"
        for method in model.methods {
            let list = method.errors.map { "." + Naming.lowerCamel(fromPascal: $0) }.joined(separator: ", ")
            out += "            case .\(Naming.lowerCamel(fromPascal: method.name)): [\(list)]\n"
        }
        out += "            }\n        }\n    }\n\n"
        return out
    }

    private func emitGroupEnums() -> String {
        var out = ""
        for (group, members) in groups {
            out += "    /// The methods of the \(group) group: one signature, one handler.\n"
            out += "    public enum \(group)Method: String, Sendable, CaseIterable {\n"
            for method in members {
                out += "        case \(Naming.lowerCamel(fromPascal: method.name)) = \(Naming.literal(method.name))\n"
            }
            out += "    }\n\n"
        }
        return out
    }

    private func emitNameEnum(_ name: String, _ doc: String, _ items: [InterfaceModel.Named]) -> String {
        guard !items.isEmpty else { return "" }
        var out = "    /// \(doc)\n    public enum \(name): String, Sendable, CaseIterable {\n"
        for item in items {
            out += Naming.doc(item.doc, indent: "        ")
            out += "        case \(Naming.lowerCamel(fromPascal: item.name)) = \(Naming.literal(item.name))\n"
        }
        return out + "    }\n\n"
    }

    private func emitKeySet(_ keySet: InterfaceModel.KeySet) throws -> String {
        let types = try keySet.keys.map { key in
            try WireType(key.type, namespace: namespace, keySets: keySetNames, swiftType: key.swiftType)
        }
        let unknown = keySet.refusesUnknownKeys ? "refused with `InvalidArgument`" : "ignored"
        var out = "    /// The keys of a `\(keySet.name)` dictionary (`a{sv}`); every key is optional, unknown keys are \(unknown).\n"
        out += "    public struct \(keySet.name): Sendable, Hashable {\n"
        for (key, type) in zip(keySet.keys, types) {
            out += "        /// `\(key.key)` (`\(key.type)`).\n        public var \(key.fieldName): \(type.swiftType)?\n"
        }
        out += "\n        /// Every key of the set.\n        public static let keys: [String] = [\(keySet.keys.map { Naming.literal($0.key) }.joined(separator: ", "))]\n\n"
        out += "        /// Creates a dictionary.\n        public init("
        out += zip(keySet.keys, types).map { "\($0.fieldName): \($1.swiftType)? = nil" }.joined(separator: ", ") + ") {\n"
        for key in keySet.keys { out += "            self.\(key.fieldName) = \(key.fieldName)\n" }
        out += "        }\n\n"
        out += "        /// Reads the dictionary; a value of the wrong type throws `InvalidArgument`.\n"
        out += "        public init(busValue: BusValue) throws(QuiesceError) {\n"
        if keySet.keys.isEmpty {
            out += "            if let key = try Wire.vardict(busValue, \(Naming.literal(keySet.name))).keys.sorted().first {\n"
            out += keySet.refusesUnknownKeys ? "                throw Wire.unknownKey(key, of: \(Naming.literal(keySet.name)), known: Self.keys)\n" : "                _ = key\n"
            out += "            }\n        }\n\n"
            out += "        /// The dictionary sent on the bus: empty.\n        public var busValue: BusValue { .vardict([:]) }\n    }\n\n"
            return out
        }
        out += "            for (key, value) in try Wire.vardictEntries(busValue, \(Naming.literal(keySet.name))) {\n"
        out += "                switch key {\n"
        for (key, type) in zip(keySet.keys, types) {
            out += "                case \(Naming.literal(key.key)): \(key.fieldName) = \(type.decode("value", what: key.key))\n"
        }
        if keySet.refusesUnknownKeys {
            out += "                default: throw Wire.unknownKey(key, of: \(Naming.literal(keySet.name)), known: Self.keys)\n"
        } else {
            out += "                default: continue\n"
        }
        out += "                }\n            }\n        }\n\n"
        out += "        /// The dictionary sent on the bus: the keys that are set, sorted (as `BusValue.vardict` sorts).\n"
        out += "        public var busValue: BusValue {\n            var entries: [BusValue.DictionaryEntry] = []\n"
        out += "            entries.reserveCapacity(\(keySet.keys.count))\n"
        for (key, type) in zip(keySet.keys, types).sorted(by: { $0.0.key < $1.0.key }) {
            out += "            if let \(key.fieldName) { entries.append(.init(key: .string(\(Naming.literal(key.key))), value: .variant(\(type.encode(key.fieldName))))) }\n"
        }
        out += "            return .dictionary(keyType: \"s\", valueType: \"v\", entries)\n        }\n    }\n\n"
        return out
    }

    // MARK: - Server

    private func wireType(_ argument: InterfaceModel.Argument) throws -> WireType {
        try WireType(argument.type, namespace: namespace, keySets: keySetNames, keys: argument.keys, json: argument.json, fields: argument.fields)
    }

    /// `-> T`, `-> (a: T, b: U)` or nothing.
    private func resultType(_ outputs: [InterfaceModel.Argument]) throws -> String {
        let types = try outputs.map { try wireType($0).swiftType }
        switch outputs.count {
        case 0: return ""
        case 1: return " -> " + types[0]
        default: return " -> (" + zip(outputs, types).map { "\($0.name): \($1)" }.joined(separator: ", ") + ")"
        }
    }

    private func parameters(_ inputs: [InterfaceModel.Argument]) throws -> [String] {
        try inputs.enumerated().map { index, argument in
            (index == 0 ? "_ " : "") + "\(argument.name): \(try wireType(argument).swiftType)"
        }
    }

    private func emitServer() throws -> String {
        var out = "/// What a server of `\(model.name)` implements: one requirement per method (one per group), with\n"
        out += "/// typed arguments and results. Throw ``QuiesceError`` to answer with its `org.quiesce.Error.*`.\n"
        out += "public protocol \(namespace)Methods: Sendable {\n"
        var emittedGroups: Set<String> = []
        for method in model.methods {
            if let group = method.group {
                guard emittedGroups.insert(group).inserted else { continue }
                let parameters = try ["_ method: \(namespace).\(group)Method"] + parameters(method.inputs).map { $0.hasPrefix("_ ") ? String($0.dropFirst(2)) : $0 }
                out += "    /// Handles a method of the \(group) group.\n"
                out += "    func \(Naming.lowerCamel(fromPascal: group))(\((parameters + ["call: BusMethodCall"]).joined(separator: ", "))) async throws\(try resultType(method.outputs))\n"
            } else {
                out += Naming.doc(method.doc, indent: "    ")
                out += "    func \(Naming.lowerCamel(fromPascal: method.name))(\((try parameters(method.inputs) + ["call: BusMethodCall"]).joined(separator: ", "))) async throws\(try resultType(method.outputs))\n"
            }
        }
        out += "}\n\n"
        out += "extension \(namespace) {\n"
        out += "    /// Answers one call of `\(model.name)` with `handler`: decodes the arguments (GDBus has checked\n"
        out += "    /// their D-Bus types), calls the handler, encodes the reply; every error leaves as a D-Bus error.\n"
        out += "    public static func dispatch(_ call: BusMethodCall, to handler: some \(namespace)Methods) async throws -> [BusValue] {\n"
        out += "        do {\n"
        out += "            guard let method = Method(rawValue: call.method) else { throw QuiesceError(.unknownMethod, \"no method \\(call.method) in \\(name)\") }\n"
        out += "            let arguments = call.arguments\n"
        out += "            guard arguments.count == Self.inputCount(method) else { throw QuiesceError(.invalidArgument, \"\\(call.method) takes \\(Self.inputCount(method)) arguments\") }\n"
        out += "            switch method {\n"
        for method in model.methods {
            let inputs = try method.inputs.enumerated().map { index, argument in
                try wireType(argument).decode("arguments[\(index)]", what: argument.name)
            }
            var labels = method.inputs.enumerated().map { $0 == 0 ? "" : "\($1.name): " }
            var call: String
            if let group = method.group {
                labels = method.inputs.map { "\($0.name): " }
                let args = ["\(group)Method.\(Naming.lowerCamel(fromPascal: method.name))"] + zip(labels, inputs).map { $0 + $1 } + ["call: call"]
                call = "try await handler.\(Naming.lowerCamel(fromPascal: group))(\(args.joined(separator: ", ")))"
            } else {
                let args = zip(labels, inputs).map { $0 + $1 } + ["call: call"]
                call = "try await handler.\(Naming.lowerCamel(fromPascal: method.name))(\(args.joined(separator: ", ")))"
            }
            out += "            case .\(Naming.lowerCamel(fromPascal: method.name)):\n"
            let outputs = try method.outputs.map(wireType)
            switch outputs.count {
            case 0:
                out += "                \(call)\n                return []\n"
            case 1:
                out += "                let result = \(call)\n                return [\(outputs[0].encode("result"))]\n"
            default:
                out += "                let result = \(call)\n"
                out += "                return [\(zip(method.outputs, outputs).map { $1.encode("result.\($0.name)") }.joined(separator: ", "))]\n"
            }
        }
        out += "            }\n        } catch {\n            let failure = QuiesceError(error)\n"
        out += "            Wire.checkListed(failure, method: \"\\(name).\\(call.method)\", listed: Method(rawValue: call.method)?.errors ?? [])\n"
        out += "            throw failure.busError\n        }\n    }\n\n"
        out += "    private static func inputCount(_ method: Method) -> Int {\n        switch method {\n"
        for method in model.methods {
            out += "        case .\(Naming.lowerCamel(fromPascal: method.name)): \(method.inputs.count)\n"
        }
        out += "        }\n    }\n}\n\n"
        return out
    }

    // MARK: - Proxy

    private func timeoutDefault(_ method: InterfaceModel.Method) -> String {
        switch method.timeout {
        case nil: ".seconds(300)"
        case "none": "nil"
        case let seconds?: ".seconds(\(seconds))"
        }
    }

    private func emitProxy() throws -> String {
        var out = "/// A client of `\(model.name)`: one typed method per D-Bus method. Every error it throws is a\n"
        out += "/// ``QuiesceError`` (the peer's `org.quiesce.Error.*`, a timeout, a peer that left, a bad reply).\n"
        out += "public struct \(namespace)Proxy: Sendable {\n"
        out += "    /// Sends one call: (method, arguments, timeout) to the reply's arguments.\n"
        out += "    public typealias Transport = @Sendable (_ method: String, _ arguments: [BusValue], _ timeout: Duration?) async throws -> [BusValue]\n\n"
        out += "    private let transport: Transport\n\n"
        out += "    /// A proxy of the object at `path` of `destination` (`nil` on a peer-to-peer connection).\n"
        out += "    public init(connection: BusConnection, destination: String?, path: String) {\n"
        out += "        transport = { method, arguments, timeout in\n"
        out += "            try await connection.call(destination: destination, path: path, interface: \(namespace).name, method: method, arguments: arguments, timeout: timeout)\n"
        out += "        }\n    }\n\n"
        out += "    /// A proxy whose calls go through `transport` (e.g. one that also watches the peer).\n"
        out += "    public init(transport: @escaping Transport) {\n        self.transport = transport\n    }\n\n"
        var emittedGroups: Set<String> = []
        for method in model.methods {
            var name = Naming.lowerCamel(fromPascal: method.name)
            var parameters = try parameters(method.inputs)
            var methodName = Naming.literal(method.name)
            if let group = method.group {
                guard emittedGroups.insert(group).inserted else { continue }
                name = Naming.lowerCamel(fromPascal: group)
                parameters = ["_ method: \(namespace).\(group)Method"] + parameters.map { $0.hasPrefix("_ ") ? String($0.dropFirst(2)) : $0 }
                methodName = "method.rawValue"
                out += "    /// Calls a method of the \(group) group.\n"
            } else {
                out += Naming.doc(method.doc, indent: "    ")
            }
            parameters.append("timeout: Duration? = \(timeoutDefault(method))")
            let encoded = try method.inputs.map { try wireType($0).encode($0.name) }
            out += "    public func \(name)(\(parameters.joined(separator: ", "))) async throws\(try resultType(method.outputs)) {\n"
            let send = "try await send(\(methodName), [\(encoded.joined(separator: ", "))], timeout)"
            let outputs = try method.outputs.map(wireType)
            switch outputs.count {
            case 0:
                out += "        _ = \(send)\n"
            case 1:
                out += "        let reply = \(send)\n"
                out += "        return try Wire.reply(\(methodName)) { \(outputs[0].decode("try Wire.argument(reply, 0)", what: method.outputs[0].name)) }\n"
            default:
                out += "        let reply = \(send)\n"
                let fields = zip(method.outputs, outputs).enumerated().map { index, pair in
                    "\(pair.0.name): \(pair.1.decode("try Wire.argument(reply, \(index))", what: pair.0.name))"
                }
                out += "        return try Wire.reply(\(methodName)) { (\(fields.joined(separator: ", "))) }\n"
            }
            out += "    }\n\n"
        }
        out += "    private func send(_ method: String, _ arguments: [BusValue], _ timeout: Duration?) async throws -> [BusValue] {\n"
        out += "        do { return try await transport(method, arguments, timeout) } catch { throw QuiesceError(error) }\n"
        out += "    }\n}\n"
        return out
    }
}
