import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads one introspection file into an ``InterfaceModel``.
final class InterfaceParser: NSObject, XMLParserDelegate {
    private var model: InterfaceModel
    private var method: InterfaceModel.Method?
    private var argument: InterfaceModel.Argument?
    private var signal: InterfaceModel.Signal?
    private var property: InterfaceModel.Named?
    private var failure: GeneratorError?

    private init(xml: String) {
        model = InterfaceModel(name: "", xml: xml)
    }

    /// Parses `xml`, which must hold exactly one interface.
    static func parse(_ xml: String) throws -> InterfaceModel {
        let delegate = InterfaceParser(xml: xml)
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = delegate
        guard parser.parse() else {
            throw delegate.failure ?? GeneratorError("not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "unknown error")")
        }
        if let failure = delegate.failure { throw failure }
        guard !delegate.model.name.isEmpty else { throw GeneratorError("no <interface> element") }
        return delegate.model
    }

    func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        switch element {
        case "interface":
            guard model.name.isEmpty else { return fail("more than one interface in one file") }
            model.name = attributes["name"] ?? ""
        case "method":
            method = InterfaceModel.Method(name: attributes["name"] ?? "")
        case "signal":
            signal = InterfaceModel.Signal(name: attributes["name"] ?? "")
        case "property":
            property = InterfaceModel.Named(name: attributes["name"] ?? "", doc: "")
        case "arg":
            argument = InterfaceModel.Argument(
                name: attributes["name"] ?? "", type: attributes["type"] ?? "",
                direction: attributes["direction"] ?? (signal == nil ? "in" : "out")
            )
        case "annotation":
            annotate(attributes["name"] ?? "", attributes["value"] ?? "")
        default:
            break
        }
    }

    func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
        switch element {
        case "arg":
            guard let argument else { return }
            if signal != nil { signal!.arguments.append(argument) } else { method?.arguments.append(argument) }
            self.argument = nil
        case "method":
            if let method { model.methods.append(method) }
            method = nil
        case "signal":
            if let signal { model.signals.append(signal) }
            signal = nil
        case "property":
            if let property { model.properties.append(property) }
            property = nil
        default:
            break
        }
    }

    private func annotate(_ name: String, _ value: String) {
        if name == "org.gtk.GDBus.DocString" {
            if argument != nil { argument!.doc = value }
            else if method != nil { method!.doc = value }
            else if signal != nil { signal!.doc = value }
            else if property != nil { property!.doc = value }
            else { model.doc = value }
            return
        }
        if argument != nil {
            switch name {
            case "org.quiesce.Keys": argument!.keys = value
            case "org.quiesce.JSON": argument!.json = value
            case "org.quiesce.Fields":
                argument!.fields = value.split(separator: " ").map { field in
                    let parts = field.split(separator: ":", maxSplits: 1).map(String.init)
                    return InterfaceModel.Field(label: parts[0], swiftType: parts.count > 1 ? parts[1] : nil)
                }
            default: fail("unknown annotation \(name) on argument \(argument!.name)")
            }
            return
        }
        if method != nil {
            switch name {
            case "org.quiesce.Errors": method!.errors = value.split(separator: " ").map(String.init)
            case "org.quiesce.Group": method!.group = value
            case "org.quiesce.Timeout": method!.timeout = value
            default: fail("unknown annotation \(name) on method \(method!.name)")
            }
            return
        }
        if name.hasPrefix("org.quiesce.Error.") {
            model.errors.append(.init(name: name, doc: value))
        } else if name.hasPrefix("org.quiesce.Keys.") {
            var tokens = value.split(separator: " ").map(String.init)
            let refuses = tokens.first == "refuse-unknown"
            if refuses || tokens.first == "ignore-unknown" { tokens.removeFirst() }
            var keys: [InterfaceModel.Key] = []
            for token in tokens {
                let parts = token.split(separator: ":").map(String.init)
                guard parts.count == 2 || parts.count == 3 else { return fail("key \(token) of \(name) is not key:type or key:type:SwiftType") }
                keys.append(.init(key: parts[0], type: parts[1], swiftType: parts.count == 3 ? parts[2] : nil))
            }
            model.keySets.append(.init(name: String(name.dropFirst("org.quiesce.Keys.".count)), refusesUnknownKeys: refuses, keys: keys))
        } else if name.hasPrefix("org.quiesce.") {
            fail("unknown annotation \(name)")
        }
    }

    private func fail(_ message: String) {
        if failure == nil { failure = GeneratorError(message) }
    }
}
