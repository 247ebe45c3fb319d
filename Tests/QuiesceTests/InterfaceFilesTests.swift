import Foundation
import Quiesce
import Testing

@Suite("Interface XML")
struct InterfaceFilesTests {
    /// The repository's dbus/ folder, found from this file's path.
    static let dbusFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../dbus").standardizedFileURL

    @Test("The embedded XML is exactly dbus/*.xml (run `make interfaces` after editing them)", arguments: InterfaceXML.all.keys.sorted())
    func embeddedMatchesFiles(interface: String) throws {
        let file = try String(contentsOf: Self.dbusFolder.appendingPathComponent("\(interface).xml"), encoding: .utf8)
        #expect(InterfaceXML.all[interface]! + "\n" == file)
    }
}
