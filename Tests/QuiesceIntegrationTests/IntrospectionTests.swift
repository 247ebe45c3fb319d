import Foundation
import FoundationXML
import Quiesce
import QuiesceProtocol
import QuiesceTestSupport
import Testing

/// The interface element named `name` of an introspection document, in a canonical form:
/// elements with sorted attributes, no whitespace or comments.
private func canonicalInterface(_ name: String, in xml: String) throws -> String {
    let document = try XMLDocument(xmlString: xml, options: [])
    let interfaces = try document.nodes(forXPath: "/node/interface[@name='\(name)']")
    guard let interface = interfaces.first as? XMLElement else { throw TestFailure("no interface \(name) in \(xml)") }
    return canonical(interface)
}

private func canonical(_ element: XMLElement) -> String {
    let attributes = (element.attributes ?? []).map { "\($0.name ?? "")=\"\($0.stringValue ?? "")\"" }.sorted().joined(separator: " ")
    let children = (element.children ?? []).compactMap { $0 as? XMLElement }.map(canonical).joined()
    return "<\(element.name ?? "") \(attributes)>\(children)</\(element.name ?? "")>"
}

@Suite("What the running processes export is exactly dbus/*.xml", .serialized)
struct IntrospectionTests {
    @Test("Coordinator, session and writer objects (Swift and C) introspect as their XML files")
    func exportedInterfacesMatchFiles() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            try await harness.startFlakyWriter("w", volume: try harness.folder("volume"))
            let data = try harness.folder("volume/c")
            try await harness.start("c", "quiesce-c-writer", ["--name", "c", "--data", data, "--interface-xml", PrivateBus.repository + "/dbus/org.quiesce.Writer1.xml"], waitFor: BusNames.writerBusName("c"))
            let session = try await harness.busctl(["call", BusNames.coordinator, BusNames.coordinatorPath, Coordinator1.name, "CreateSession", "a{sv}", "0"])
            #expect(session.status == 0)
            // busctl's connection owns the session and has gone: use our own connection instead.
            let path = try await harness.connection.call(
                destination: BusNames.coordinator, path: BusNames.coordinatorPath, interface: Coordinator1.name,
                method: "CreateSession", arguments: [.vardict([:])]
            ).first?.stringValue
            let objects: [(String, String, String)] = [
                (BusNames.coordinator, BusNames.coordinatorPath, Coordinator1.name),
                (BusNames.coordinator, try #require(path), Session1.name),
                (BusNames.writerBusName("w"), BusNames.writerPath, Writer1.name),
                (BusNames.writerBusName("c"), BusNames.writerPath, Writer1.name),
            ]
            for (destination, objectPath, interface) in objects {
                let introspected = try await harness.busctl(["introspect", "--xml-interface", destination, objectPath])
                #expect(introspected.status == 0, "\(introspected.stderr)")
                let file = try String(contentsOfFile: PrivateBus.repository + "/dbus/\(interface).xml", encoding: .utf8)
                #expect(try canonicalInterface(interface, in: introspected.stdout) == canonicalInterface(interface, in: file))
            }
        }
    }
}
