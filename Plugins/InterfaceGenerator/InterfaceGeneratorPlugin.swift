import Foundation
import PackagePlugin

/// Runs quiesce-interface-generator over `dbus/*.xml` for the target it is applied to
/// (QuiesceProtocol), so the typed layer is rebuilt whenever an interface file changes.
@main
struct InterfaceGeneratorPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let directory = context.package.directoryURL.appending(path: "dbus")
        let interfaces = try FileManager.default.contentsOfDirectory(atPath: directory.path())
            .filter { $0.hasPrefix("org.quiesce.") && $0.hasSuffix("1.xml") }
            .sorted()
            .map { directory.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "Interfaces.generated.swift")
        return [
            .buildCommand(
                displayName: "Generating the typed D-Bus layer from \(interfaces.count) interface files",
                executable: try context.tool(named: "quiesce-interface-generator").url,
                arguments: [output.path()] + interfaces.map { $0.path() },
                inputFiles: interfaces,
                outputFiles: [output]
            )
        ]
    }
}
