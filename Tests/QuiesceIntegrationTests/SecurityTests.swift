import Foundation
import Quiesce
import QuiesceProtocol
import QuiesceBus
import QuiesceRequester
import QuiesceTestSupport
import Testing

private let rootOnly = ConditionTrait.enabled(
    if: Harness.isRoot,
    "SKIP: needs root to run a second, unprivileged user through setpriv (CI runs as root)"
)

@Suite("Security: nobody else gets in", .serialized)
struct SecurityTests {
    @Test("System-bus policy: an unprivileged user reads status but cannot start sessions, own writer names or send events", rootOnly)
    func systemBusPolicy() async throws {
        try await Harness.with(config: "system-like-bus.conf") { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("w", volume: volume)
            let address = harness.bus.address
            let quiescectl = Harness.binDirectory + "/quiescectl"

            // Reading is open to everyone.
            let state = try await harness.runAsNobody("/usr/bin/busctl", ["--address=\(address)", "get-property", BusNames.writerBusName("w"), BusNames.writerPath, Writer1.name, "State"])
            #expect(state.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "s \"stable\"", "\(state.stderr)")
            let writers = try await harness.runAsNobody(quiescectl, ["writers", "--address", address, "--json"])
            #expect(try JSONCoding.decode([WriterSummary].self, from: writers.stdout).map(\.name) == ["w"], "\(writers.stderr)")

            // Driving is not.
            let create = try await harness.runAsNobody("/usr/bin/busctl", ["--address=\(address)", "call", BusNames.coordinator, BusNames.coordinatorPath, Coordinator1.name, "CreateSession", "a{sv}", "0"])
            #expect(create.status != 0)
            #expect(create.stderr.contains("Access denied"))
            let freeze = try await harness.runAsNobody("/usr/bin/busctl", ["--address=\(address)", "call", BusNames.writerBusName("w"), BusNames.writerPath, Writer1.name, "Freeze", "sa{sv}", "s1", "0"])
            #expect(freeze.status != 0)
            #expect(freeze.stderr.contains("Access denied"))
            let own = try await harness.runAsNobody(Harness.binDirectory + "/flaky-writer", ["--address", address, "--name", "intruder", "--data", volume])
            #expect(own.status != 0)
            #expect(own.stderr.contains("not allowed to own the service \"org.quiesce.Writer.intruder\""))
            let backup = try await harness.runAsNobody(quiescectl, ["backup", "--address", address, "--volume", volume, "--to", "/tmp/nobody-backup-\(getpid())"])
            #expect(backup.status == 1)
            #expect(try await harness.writerProperty("w", "State") == "s \"stable\"")

            // Root may do everything the policy grants it: a whole backup works on this bus.
            let allowed = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup"])
            #expect(allowed.status == 0, "\(allowed.stdout)\n\(allowed.stderr)")
        }
    }

    @Test("A ListWriters flood from uid 65534 is answered from what quiesced follows: backups go on, quiesced does not grow", rootOnly)
    func listWritersFlood() async throws {
        try await Harness.with(config: "system-like-bus.conf") { harness in
            let coordinator = try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            for name in ["a", "b", "c"] { try await harness.startFlakyWriter(name, volume: volume) }
            #expect(try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/warm-up"]).status == 0)
            let before = Harness.footprint(of: coordinator.pid).rssKiB
            let floods = try (0..<4).map { index in
                try ChildProcess(
                    executable: "/usr/bin/setpriv",
                    arguments: ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", PrivateBus.repository + "/scripts/list-writers-flood.py", harness.bus.address, "60"],
                    log: harness.bus.directory + "/logs/flood\(index).log"
                )
            }
            try await Harness.waitUntil("the flood is running") { floods.allSatisfy { !$0.output.isEmpty } }
            for index in 0..<3 {
                let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup\(index)"])
                #expect(backup.status == 0, "\(backup.stdout)\n\(backup.stderr)")
            }
            // The listing an unprivileged admin sees is right, flood or not.
            let writers = try await harness.runAsNobody(Harness.binDirectory + "/quiescectl", ["writers", "--address", harness.bus.address, "--json"])
            let listed = try JSONCoding.decode([WriterSummary].self, from: writers.stdout)
            #expect(listed.map(\.name) == ["a", "b", "c"])
            #expect(listed.allSatisfy { $0.state == "stable" && $0.lastError == "no-error" })
            for flood in floods { flood.signal(SIGKILL) }
            let calls = floods.compactMap { $0.output.split(separator: "\n").last.flatMap { Int($0) } }.reduce(0, +)
            let after = Harness.footprint(of: coordinator.pid).rssKiB
            print("flood: \(calls) ListWriters calls from uid 65534 during three backups; quiesced RSS \(before) -> \(after) KiB")
            #expect(calls > 100)
            #expect(after - before < 16 * 1024, "quiesced grew from \(before) KiB to \(after) KiB under the flood")
        }
    }

    @Test("Snapshots and --to are private; a non-root caller backs up only what it can read; only a session's owner and root read its document and its writers' metadata", rootOnly)
    func permissions() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator(["--allow-group", "nogroup"])
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("w", volume: volume)
            try await harness.startPython("meta", "Tests/Scripts/oversized-writer.py", ["--name", "meta", "--data", volume, "--metadata-bytes", "16"], waitFor: BusNames.writerBusName("meta"))
            let secret = try harness.folder("secret")
            try "secret\n".write(toFile: secret + "/file.txt", atomically: false, encoding: .utf8)
            #expect(chmod(secret, 0o700) == 0)
            let home = try harness.folder("home")
            #expect(chown(home, 65534, 65534) == 0)
            let quiescectl = Harness.binDirectory + "/quiescectl"
            let address = harness.bus.address

            let refused = try await harness.runAsNobody(quiescectl, ["backup", "--address", address, "--volume", secret, "--to", home + "/refused"])
            #expect(refused.status == 1)
            #expect((refused.stdout + refused.stderr).contains("uid 65534 may not read \(secret)"), "\(refused.stdout)\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: home + "/refused"))

            let allowed = try await harness.runAsNobody(quiescectl, ["backup", "--address", address, "--volume", volume, "--to", home + "/backup"])
            #expect(allowed.status == 0, "\(allowed.stdout)\(allowed.stderr)")
            let destination = try FileManager.default.attributesOfItem(atPath: home + "/backup")
            #expect(destination[.posixPermissions] as? Int == 0o700)
            #expect(destination[.ownerAccountID] as? Int == 65534)
            #expect(try FileManager.default.attributesOfItem(atPath: harness.snapshotRoot)[.posixPermissions] as? Int == 0o711)

            // A session of root's: its snapshot set is private; others read its status without metadata, not its document.
            let session = try await QuiesceClient(connection: harness.connection).createSession()
            _ = try await session.gatherWriterMetadata()
            try await session.addVolumes([volume])
            try await session.prepareForBackup()
            let set = try await session.doSnapshotSet()
            let setDirectory = URL(fileURLWithPath: try #require(set.snapshots[volume])).deletingLastPathComponent().path
            #expect(try FileManager.default.attributesOfItem(atPath: setDirectory)[.posixPermissions] as? Int == 0o700)
            #expect(try await session.writerStatus().first { $0.name == "meta" }?.components.first?.backupMetadata == String(repeating: "m", count: 16))
            let document = try await harness.runAsNobody("/usr/bin/busctl", ["--address=\(address)", "call", BusNames.coordinator, session.path, Session1.name, "GetBackupDocument"])
            #expect(document.status != 0)
            #expect(document.stderr.contains("readable only by its owner and root"), "\(document.stderr)")
            let status = try await harness.runAsNobody("/usr/bin/busctl", ["--address=\(address)", "call", BusNames.coordinator, session.path, Session1.name, "GetWriterStatus"])
            #expect(status.status == 0, "\(status.stderr)")
            #expect(status.stdout.contains("meta") && !status.stdout.contains("mmmmmmmmmmmmmmmm"))
            let snapshot = try await harness.runAsNobody("/bin/ls", [setDirectory])
            #expect(snapshot.status != 0)
            try await session.close()
        }
    }

    @Test("A volume that holds the snapshot root on its own filesystem is refused before anything starts: the copy would copy itself")
    func volumeHoldingTheSnapshotRoot() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            var root = stat()
            var snapshots = stat()
            #expect(stat("/", &root) == 0 && stat(harness.snapshotRoot, &snapshots) == 0)
            guard root.st_dev == snapshots.st_dev else {
                print("SKIP: the test folder is not on the root filesystem, so / does not hold the snapshot root")
                return
            }
            let session = try await QuiesceClient(connection: harness.connection).createSession()
            _ = try await session.gatherWriterMetadata()
            try await session.addVolumes(["/"])
            try await session.prepareForBackup()
            do {
                _ = try await session.doSnapshotSet()
                Issue.record("a snapshot of / was taken into \(harness.snapshotRoot)")
            } catch let error as QuiesceError {
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains("holds the snapshot root \(harness.snapshotRoot) on the same filesystem"), "\(error.message)")
            }
            try await session.close()
        }
    }

    @Test("quiesced checks the caller's uid itself, even where the bus would let the call through", rootOnly)
    func coordinatorChecksUID() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let create = try await harness.runAsNobody("/usr/bin/busctl", ["--address=\(harness.bus.address)", "call", BusNames.coordinator, BusNames.coordinatorPath, Coordinator1.name, "CreateSession", "a{sv}", "0"])
            #expect(create.status != 0)
            #expect(create.stderr.contains("uid 65534 may not start backup sessions"))
            #expect(try await QuiesceClient(connection: harness.connection).listSessions().isEmpty)
        }
    }

    @Test("A writer takes events only from the coordinator's current connection")
    func writerAcceptsOnlyTheCoordinator() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            let writer = try await harness.startFlakyWriter("w", volume: volume)
            let call = try await harness.busctl(["call", BusNames.writerBusName("w"), BusNames.writerPath, Writer1.name, "PrepareForBackup", "sa{sv}", "s1", "0"])
            #expect(call.status != 0)
            #expect(call.stderr.contains("accepted only from the owner of org.quiesce.Coordinator"))
            #expect(events(of: writer).isEmpty)
            #expect(try await harness.writerProperty("w", "Sessions") == "u 0")
            // Identify is stateless and open to management tools.
            #expect(try await harness.busctl(["call", BusNames.writerBusName("w"), BusNames.writerPath, Writer1.name, "Identify"]).status == 0)
        }
    }

    @Test("A writer refuses malformed and out-of-order events with named errors and changes nothing")
    func writerValidatesEvents() async throws {
        try await Harness.with { harness in
            // The test's own connection plays the coordinator.
            try await harness.connection.requestName(BusNames.coordinator)
            let volume = try harness.folder("volume")
            let writer = try await harness.startFlakyWriter("w", volume: volume)
            func event(_ method: String, _ session: String, _ options: [String: BusValue]) async -> String {
                do {
                    _ = try await harness.connection.call(
                        destination: BusNames.writerBusName("w"), path: BusNames.writerPath, interface: Writer1.name,
                        method: method, arguments: [.string(session), .vardict(options)]
                    )
                    return "ok"
                } catch let error as BusError {
                    return error.name
                } catch {
                    return "\(error)"
                }
            }
            let invalid = QuiesceError.Code.invalidArgument.rawValue
            let badState = QuiesceError.Code.badState.rawValue
            #expect(await event("Thaw", "s1", [:]) == badState)
            #expect(await event("PrepareForSnapshot", "s1", [:]) == badState)
            #expect(await event("PostRestore", "s1", [:]) == badState)
            #expect(await event("PrepareForBackup", "bad id!", [:]) == invalid)
            #expect(await event("PrepareForBackup", String(repeating: "a", count: 65), [:]) == invalid)
            #expect(await event("PrepareForBackup", "s1", ["backup-type": .uint32(1)]) == invalid)
            #expect(await event("PrepareForBackup", "s1", ["volumes": .strings(["relative/path"])]) == invalid)
            #expect(await event("PrepareForBackup", "s1", ["volumes": .strings(["/srv/../etc"])]) == invalid)
            #expect(await event("PrepareForBackup", "s1", ["lease-ms": .uint32(5)]) == invalid)
            #expect(await event("Freeze", "s1", ["lease-ms": .string("soon")]) == invalid)
            #expect(events(of: writer).isEmpty)
            #expect(try await harness.writerProperty("w", "Sessions") == "u 0")
            #expect(try await harness.writerProperty("w", "State") == "s \"stable\"")
            // In order, the same writer answers.
            #expect(await event("PrepareForBackup", "s1", ["components": .strings(["data"])]) == "ok")
            #expect(await event("PrepareForBackup", "s1", [:]) == badState)
            #expect(await event("BackupShutdown", "s1", [:]) == "ok")
            // Unknown keys are ignored (the compatibility rule: a newer coordinator may send more).
            #expect(await event("PrepareForBackup", "s2", ["colour": .string("red")]) == "ok")
            #expect(await event("BackupShutdown", "s2", [:]) == "ok")
        }
    }

    @Test("The coordinator refuses bad arguments and out-of-order steps with named errors and changes nothing")
    func coordinatorValidatesSessions() async throws {
        try await Harness.with { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try await harness.startFlakyWriter("w", volume: volume)
            let session = try await QuiesceClient(connection: harness.connection).createSession()
            func name(_ body: () async throws -> Void) async -> String {
                do { try await body(); return "ok" } catch let error as QuiesceError { return error.code.rawValue } catch { return "\(error)" }
            }
            #expect(await name { _ = try await session.doSnapshotSet() } == QuiesceError.Code.badState.rawValue)
            #expect(await name { try await session.prepareForBackup() } == QuiesceError.Code.badState.rawValue)
            _ = try await session.gatherWriterMetadata()
            #expect(await name { try await session.addVolumes(["relative"]) } == QuiesceError.Code.invalidArgument.rawValue)
            #expect(await name { try await session.addVolumes([volume + "/../etc"]) } == QuiesceError.Code.invalidArgument.rawValue)
            // Paths are read by their bytes, as the kernel reads them: '/' before a combining mark
            // is a separator, and two names Swift holds equal (é, e + U+0301) are two volumes.
            #expect(await name { try await session.addVolumes([volume + "/../\u{301}etc"]) } == QuiesceError.Code.invalidArgument.rawValue)
            let twins = [volume + "/caf\u{e9}", volume + "/cafe\u{301}"]
            for twin in twins { #expect(try await harness.run("/bin/mkdir", [twin]).status == 0) }
            do {
                try await session.addVolumes(twins)
                Issue.record("one set took two volumes whose paths Swift holds equal")
            } catch let error as QuiesceError {
                #expect(error.code == .invalidArgument && error.message.contains("Unicode normalization"), "\(error.message)")
            }
            #expect(await name { try await session.addVolumes(["/nonexistent/dir"]) } == QuiesceError.Code.invalidArgument.rawValue)
            #expect(await name { try await session.addVolumes(["/proc"]) } == QuiesceError.Code.invalidArgument.rawValue)
            do { try await session.addVolumes(["/proc"]) } catch let error as QuiesceError {
                #expect(error.message.contains("is on the pseudo filesystem proc"), "\(error.message)")
            }
            #expect(await name { try await session.selectComponents([("nobody", "data")]) } == QuiesceError.Code.notFound.rawValue)
            #expect(await name { try await session.selectComponents([("w", "nothing")]) } == QuiesceError.Code.notFound.rawValue)
            #expect(await name { try await session.setWriterPolicy([("w", nil, .required)]) } == "ok")
            #expect(await name { _ = try await session.doSnapshotSet(provider: "tape") } == QuiesceError.Code.badState.rawValue)
            #expect(await name { try await session.prepareForBackup() } == QuiesceError.Code.badState.rawValue)  // no volume yet
            try await session.addVolumes([volume])
            try await session.prepareForBackup()
            #expect(await name { _ = try await session.doSnapshotSet(provider: "tape") } == QuiesceError.Code.invalidArgument.rawValue)
            let listed = try await QuiesceClient(connection: harness.connection).listSessions()
            #expect(listed.first?.phase == .prepared)
            _ = try await session.doSnapshotSet()
            try await session.close()
        }
    }
}

@Suite("Writers as their own users", .serialized)
struct WriterUserTests {
    @Test("With the example policy for its user, a writer running as uid 65534 owns its name and nothing else, takes part in root's backup, and Identify is denied to others as docs/security.md says", .enabled(if: Harness.isRoot, "SKIP: needs root to run a writer as another user (CI runs as root)"))
    func writerAsItsOwnUser() async throws {
        let example = try String(contentsOfFile: PrivateBus.repository + "/dbus/quiesce-writer-example.conf", encoding: .utf8)
            .replacingOccurrences(of: "user=\"postgres\"", with: "user=\"nobody\"")
            .replacingOccurrences(of: "org.quiesce.Writer.pg_15_main", with: "org.quiesce.Writer.apps")
        try await Harness.with(config: "system-like-bus.conf", policy: [example]) { harness in
            try await harness.startCoordinator()
            let volume = try harness.folder("volume")
            try FileManager.default.createDirectory(atPath: volume + "/apps", withIntermediateDirectories: true)
            try "data\n".write(toFile: volume + "/apps/file.txt", atomically: true, encoding: .utf8)
            let writer = try ChildProcess(
                executable: "/usr/bin/setpriv",
                arguments: ["--reuid=65534", "--regid=65534", "--clear-groups", Harness.binDirectory + "/flaky-writer", "--address", harness.bus.address, "--name", "apps", "--data", volume + "/apps"],
                log: harness.bus.directory + "/logs/apps.log"
            )
            harness.adopt(writer, as: "apps")
            try await harness.waitForName(BusNames.writerBusName("apps"), process: writer)

            let other = try await harness.runAsNobody(Harness.binDirectory + "/flaky-writer", ["--address", harness.bus.address, "--name", "other", "--data", volume])
            #expect(other.status != 0 && other.stderr.contains("not allowed to own the service \"org.quiesce.Writer.other\""), "\(other.stderr)")
            let identify = try await harness.runAsNobody("/usr/bin/busctl", ["--address=\(harness.bus.address)", "call", BusNames.writerBusName("apps"), BusNames.writerPath, Writer1.name, "Identify"])
            #expect(identify.status != 0 && identify.stderr.contains("Access denied"), "Identify is for root and the quiesce group on the system bus: \(identify.stderr)")

            let backup = try await harness.quiescectl(["backup", "--volume", volume, "--to", harness.bus.directory + "/backup", "--require", "apps"])
            #expect(backup.status == 0, "\(backup.stderr)")
            #expect(events(of: writer).contains("Freeze") && events(of: writer).contains("Thaw"))
        }
    }
}
