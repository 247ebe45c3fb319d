import Foundation
import QuiesceTestSupport
import Testing

@Suite("make install and make uninstall", .serialized)
struct InstallTests {
    @Test("Into a scratch prefix: binaries, units (systemd-analyze verify), bus policy, man pages (man -l), completions (bash loads it), docs; uninstall leaves the prefix empty")
    func installAndUninstall() async throws {
        try await Harness.with { harness in
            let prefix = try harness.folder("prefix/usr")
            let manualTool = Harness.binDirectory + "/generate-manual"
            #expect(FileManager.default.isExecutableFile(atPath: manualTool), "make test builds generate-manual for this test")
            let installed = try await harness.run("/usr/bin/env", ["PREFIX=\(prefix)", PrivateBus.repository + "/scripts/install.sh", Harness.binDirectory])
            #expect(installed.status == 0, "\(installed.stdout)\(installed.stderr)")
            let files = try String(contentsOfFile: prefix + "/share/quiesce/installed-files", encoding: .utf8).split(separator: "\n").map(String.init)
            for program in ["quiesced", "quiescectl", "quiesce-freeze", "quiesce-hook-writer", "quiesce-postgres-writer", "quiesce-mariadb-writer"] {
                #expect(FileManager.default.isExecutableFile(atPath: prefix + "/bin/" + program), "\(program)")
            }
            for file in files {
                #expect(FileManager.default.fileExists(atPath: file), "\(file) is listed and there")
                let mode = try #require(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
                #expect(mode & 0o022 == 0, "\(file) is writable by others: \(String(mode, radix: 8))")
            }

            // The units name the installed programs, and systemd accepts them.
            let units = prefix + "/lib/systemd/system"
            let service = try String(contentsOfFile: units + "/quiesced.service", encoding: .utf8)
            #expect(service.contains("ExecStart=\(prefix)/bin/quiesced --system"), "\(service)")
            #expect(try String(contentsOfFile: prefix + "/share/dbus-1/system-services/org.quiesce.Coordinator.service", encoding: .utf8).contains("Exec=\(prefix)/bin/quiesced"))
            // Templates are verified as an instance (what `systemctl enable --now x@notes` loads);
            // each writer instance has its own bus name.
            let templates = [
                "quiesce-backup@.service": "notes", "quiesce-backup@.timer": "notes", "quiesce-hook-writer@.service": "app",
                "quiesce-postgres-writer@.service": "pg_15_main", "quiesce-mariadb-writer@.service": "db",
            ]
            var instances: [String] = []
            for (template, instance) in templates.sorted(by: { $0.key < $1.key }) {
                instances.append(template.replacingOccurrences(of: "@.", with: "@\(instance)."))
                try FileManager.default.copyItem(atPath: units + "/" + template, toPath: units + "/" + instances.last!)
            }
            #expect(try String(contentsOfFile: units + "/quiesce-postgres-writer@.service", encoding: .utf8).contains("ExecStart=\(prefix)/bin/quiesce-postgres-writer --system --name %i"))
            // The units' man: links are checked against the installed man pages.
            let verified = try await harness.run("/usr/bin/env", ["MANPATH=\(prefix)/share/man", "/usr/bin/systemd-analyze", "verify", units + "/quiesced.service"] + instances.map { units + "/" + $0 })
            #expect(verified.status == 0, "\(verified.stderr)")
            for instance in instances { try FileManager.default.removeItem(atPath: units + "/" + instance) }

            // A man page for every command and subcommand, each rendering.
            let pages = try FileManager.default.contentsOfDirectory(atPath: prefix + "/share/man/man1").sorted()
            for page in ["quiesced.1", "quiescectl.1", "quiescectl.backup.1", "quiescectl.history.1", "quiescectl.snapshot.create.1", "quiesce-postgres-writer.1", "quiesce-mariadb-writer.1"] {
                #expect(pages.contains(page), "\(page) in \(pages)")
            }
            for page in pages {
                let rendered = try await harness.run("/usr/bin/man", ["-l", "-P", "cat", prefix + "/share/man/man1/" + page])
                #expect(rendered.status == 0 && rendered.stdout.contains("NAME"), "\(page): \(rendered.stderr)")
            }
            let completion = try await harness.run("/bin/bash", ["-c", "source \(prefix)/share/bash-completion/completions/quiescectl && complete -p quiescectl"])
            #expect(completion.stdout.contains("_quiescectl quiescectl"), "\(completion.stderr)")
            #expect(FileManager.default.fileExists(atPath: prefix + "/share/doc/quiesce/writers/postgresql.md"))

            let removed = try await harness.run("/usr/bin/env", ["PREFIX=\(prefix)", PrivateBus.repository + "/scripts/uninstall.sh"])
            #expect(removed.status == 0, "\(removed.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: prefix).isEmpty, "the prefix is empty again")
        }
    }
}

@Suite("make deb", .serialized)
struct DebianPackageTests {
    @Test("The package holds the installed tree at /usr, maintainer scripts that parse, and sysusers.d and tmpfiles.d entries that make the group and the state directories with their modes")
    func package() async throws {
        try await Harness.with { harness in
            let output = try harness.folder("deb")
            let made = try await harness.run("/usr/bin/env", ["DEB_COMPRESSION=none", PrivateBus.repository + "/scripts/make-deb.sh", Harness.binDirectory, output])
            #expect(made.status == 0, "\(made.stderr)")
            let package = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(package.hasSuffix(".deb") && FileManager.default.fileExists(atPath: package), "\(made.stdout)")

            let info = try await harness.run("/usr/bin/dpkg-deb", ["--info", package])
            #expect(info.status == 0 && info.stdout.contains("Package: quiesce") && info.stdout.contains("Depends: dbus, systemd"), "\(info.stdout)")
            for script in ["postinst", "prerm", "postrm"] {
                #expect(info.stdout.contains(script), "\(script) in the package")
                #expect(try await harness.run("/bin/sh", ["-n", PrivateBus.repository + "/dist/debian/" + script]).status == 0, "\(script) parses")
            }
            let contents = try await harness.run("/usr/bin/dpkg-deb", ["--contents", package])
            for file in [
                "./usr/bin/quiesced", "./usr/bin/quiescectl", "./usr/bin/quiesce-postgres-writer", "./usr/lib/systemd/system/quiesced.service",
                "./usr/share/dbus-1/system.d/org.quiesce.conf", "./usr/share/dbus-1/system-services/org.quiesce.Coordinator.service",
                "./usr/lib/sysusers.d/quiesce.conf", "./usr/lib/tmpfiles.d/quiesce.conf", "./usr/share/man/man1/quiescectl.backup.1",
                "./usr/share/bash-completion/completions/quiescectl",
            ] {
                #expect(contents.stdout.contains(file), "\(file)")
            }
            #expect(!contents.stdout.contains("installed-files"), "dpkg keeps its own list")
            #expect(contents.stdout.split(separator: "\n").allSatisfy { $0.contains("root/root") }, "owned by root")
            let unpacked = try harness.folder("unpacked")
            #expect(try await harness.run("/usr/bin/dpkg-deb", ["--extract", package, unpacked]).status == 0)
            #expect(try String(contentsOfFile: unpacked + "/usr/lib/systemd/system/quiesced.service", encoding: .utf8).contains("ExecStart=/usr/bin/quiesced --system"))

            // What postinst runs, into a scratch root: the group, and /var/lib/quiesce with its snapshot root 0711.
            let root = try harness.folder("root")
            try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
            let users = try await harness.run("/usr/bin/systemd-sysusers", ["--root=\(root)", unpacked + "/usr/lib/sysusers.d/quiesce.conf"])
            #expect(users.status == 0, "\(users.stderr)")
            #expect(try String(contentsOfFile: root + "/etc/group", encoding: .utf8).contains("quiesce:x:"))
            let directories = try await harness.run("/usr/bin/systemd-tmpfiles", ["--root=\(root)", "--create", unpacked + "/usr/lib/tmpfiles.d/quiesce.conf"])
            #expect(directories.status == 0, "\(directories.stderr)")
            let mode = try FileManager.default.attributesOfItem(atPath: root + "/var/lib/quiesce/snapshots")[.posixPermissions] as? Int
            #expect(mode == 0o711)
        }
    }
}
