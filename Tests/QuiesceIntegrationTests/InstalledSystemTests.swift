import Foundation
import Quiesce
import QuiesceBus
import QuiesceTestSupport
import Testing

/// Quiesce as an admin runs it after `make install`: a system bus started from the installed
/// policy and service directory, in a mount namespace of its own whose /etc/group has the
/// `quiesce` group with nobody (uid 65534) as a member, so the machine's own files stay as
/// they are. The bus starts the installed quiesced on the first call, as the system bus does.
@Suite("The installed tree on a system-like bus", .serialized)
struct InstalledSystemTests {
    static let groupID: UInt32 = 64990

    @Test(
        "Activation starts the installed quiesced; an installed writer runs as its own uid; root and a quiesce group member back up; anyone else is denied",
        .enabled(if: Harness.isRoot, "SKIP: needs root for a mount namespace and other users (CI runs as root)")
    )
    func installedSystem() async throws {
        try await Harness.with { harness in
            let prefix = try harness.folder("prefix/usr")
            let installed = try await harness.run("/usr/bin/env", ["PREFIX=\(prefix)", PrivateBus.repository + "/scripts/install.sh", Harness.binDirectory])
            try #require(installed.status == 0, "\(installed.stdout)\(installed.stderr)")
            let system = try harness.folder("system")
            let address = "unix:path=\(system)/system_bus_socket"
            let state = try harness.folder("system/state")

            // What an admin adds: the writer's own user may own its one name.
            let writerPolicy = try String(contentsOfFile: prefix + "/share/doc/quiesce/examples/quiesce-writer-example.conf", encoding: .utf8)
                .replacingOccurrences(of: "user=\"postgres\"", with: "user=\"nobody\"")
                .replacingOccurrences(of: "org.quiesce.Writer.pg_15_main", with: "org.quiesce.Writer.installed")
            try writerPolicy.write(toFile: system + "/quiesce-writer-installed.conf", atomically: true, encoding: .utf8)
            // The system bus's own configuration, with the installed policy and services.
            let config = try String(contentsOfFile: PrivateBus.repository + "/dbus/system-like-bus.conf", encoding: .utf8)
                .replacingOccurrences(of: "<listen>unix:tmpdir=/tmp</listen>", with: "<listen>\(address)</listen>")
                .replacingOccurrences(of: "<include>org.quiesce.conf</include>", with: """
                    <includedir>\(prefix)/share/dbus-1/system.d</includedir>
                      <include>\(system)/quiesce-writer-installed.conf</include>
                      <servicedir>\(prefix)/share/dbus-1/system-services</servicedir>
                    """)
            try config.write(toFile: system + "/system.conf", atomically: true, encoding: .utf8)
            let groups = try String(contentsOfFile: "/etc/group", encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("quiesce:") }
            try (groups + ["quiesce:x:\(Self.groupID):nobody"]).joined(separator: "\n").appending("\n").write(toFile: system + "/group", atomically: true, encoding: .utf8)

            let bus = try ChildProcess(
                executable: "/usr/bin/unshare",
                arguments: [
                    "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                    "mount --bind \"$0\" /etc/group && exec /usr/bin/dbus-daemon --config-file=\"$1\" --nofork --nopidfile --print-address=1",
                    system + "/group", system + "/system.conf",
                ],
                // Activated programs inherit these: the system bus is this one, and the state
                // directory is what systemd's StateDirectory= would give.
                environment: ["DBUS_SYSTEM_BUS_ADDRESS": address, "STATE_DIRECTORY": state],
                log: harness.bus.directory + "/logs/system-bus.log"
            )
            harness.adopt(bus, as: "system-bus")
            _ = try await Harness.waitUntil("the system bus listens", timeout: .seconds(10)) { bus.output.contains(address) }
            let root = try await BusConnection.connect(to: .address(address))
            #expect(try await root.nameOwner(BusNames.coordinator) == nil, "nothing runs before the first call")

            // The installed writer, as nobody, with a hook set of its own.
            let volume = try harness.folder("volume")
            let data = try harness.folder("volume/installed")
            try "data\n".write(toFile: data + "/file.txt", atomically: true, encoding: .utf8)
            let hooks = try harness.folder("hooks")
            let hookLog = try harness.folder("hook-log")
            #expect(chown(hookLog, 65534, 65534) == 0)
            try Harness.writeExecutable(hooks + "/10-note", "#!/bin/sh\necho \"$1\" >> \(hookLog)/events\n")
            try """
                {"name": "installed", "hooks": "\(hooks)", "components": [{"name": "data", "files": [{"path": "\(data)", "recursive": true}]}]}
                """.write(toFile: system + "/installed.json", atomically: true, encoding: .utf8)
            let writer = try ChildProcess(
                executable: "/usr/bin/setpriv",
                arguments: ["--reuid=65534", "--regid=65534", "--clear-groups", prefix + "/bin/quiesce-hook-writer", "--address", address, "--config", system + "/installed.json"],
                log: harness.bus.directory + "/logs/installed-writer.log"
            )
            harness.adopt(writer, as: "installed-writer")
            _ = try await Harness.waitUntil("the installed writer owns its name", timeout: .seconds(20)) {
                try await root.nameOwner(BusNames.writerBusName("installed")) != nil
            }
            #expect(try await root.unixUser(of: BusNames.writerBusName("installed")) == 65534)

            // The first call starts quiesced: the installed program, with the state directory it was given.
            let quiescectl = prefix + "/bin/quiescectl"
            let writers = try await harness.run(quiescectl, ["--address=\(address)", "writers"])
            #expect(writers.status == 0, "\(writers.stderr)\n\(bus.output)")
            #expect(writers.stdout.contains("\ninstalled  "), "\(writers.stdout)")
            let coordinator = try await root.unixProcessID(of: BusNames.coordinator)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(coordinator)/exe") == prefix + "/bin/quiesced")
            defer { kill(pid_t(coordinator), SIGTERM) }

            let asRoot = try await harness.run(quiescectl, ["--address=\(address)", "backup", "--volume", volume, "--to", harness.bus.directory + "/backup-root", "--require", "installed"])
            #expect(asRoot.status == 0, "\(asRoot.stderr)")
            #expect(try String(contentsOfFile: hookLog + "/events", encoding: .utf8) == "freeze\nthaw\n")
            #expect(FileManager.default.fileExists(atPath: state + "/history"), "quiesced keeps its history in STATE_DIRECTORY")

            // A member of the quiesce group (by the groups of its process, as the bus sees them).
            let memberDestination = try harness.folder("member")
            #expect(chown(memberDestination, 65534, 65534) == 0)
            let asMember = try await harness.run("/usr/bin/setpriv", [
                "--reuid=65534", "--regid=65534", "--groups=\(Self.groupID)", quiescectl, "--address=\(address)",
                "backup", "--volume", volume, "--to", memberDestination + "/backup", "--require", "installed",
            ])
            #expect(asMember.status == 0, "\(asMember.stderr)")
            #expect(FileManager.default.fileExists(atPath: memberDestination + "/backup/backup.json"))

            // Anyone else: the bus policy refuses before quiesced is even asked.
            let outsider = try await harness.runAsNobody(quiescectl, ["--address=\(address)", "backup", "--volume", volume, "--to", memberDestination + "/other"])
            #expect(outsider.status == 1, "\(outsider.stderr)")
            #expect(outsider.stderr.contains("AccessDenied") || outsider.stderr.contains("denied"), "\(outsider.stderr)")
            #expect(try String(contentsOfFile: hookLog + "/events", encoding: .utf8) == "freeze\nthaw\nfreeze\nthaw\n", "the refused backup reached no writer")
        }
    }
    @Test("quiesced takes its configuration file from systemd's CONFIGURATION_DIRECTORY, and a flag still wins")
    func configurationDirectory() async throws {
        try await Harness.with { harness in
            let directory = try harness.folder("etc-quiesce")
            try #"{"history-limit": 0}"#.write(toFile: directory + "/quiesced.json", atomically: true, encoding: .utf8)
            let quiesced = Harness.binDirectory + "/quiesced"
            let refused = try await harness.run("/usr/bin/env", ["CONFIGURATION_DIRECTORY=\(directory)", quiesced, "--address", harness.bus.address, "--state-dir", harness.stateDirectory])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("history-limit must be 1 to 100000"), "\(refused.stderr)")
            try await harness.start(
                "quiesced", "quiesced", ["--state-dir", harness.stateDirectory, "--history-limit", "5"],
                environment: ["CONFIGURATION_DIRECTORY": directory], waitFor: BusNames.coordinator
            )
        }
    }
}
