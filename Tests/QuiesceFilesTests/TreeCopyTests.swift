import Foundation
import QuiesceFiles
import Testing

/// A fresh directory under /tmp, removed at the end.
final class Scratch {
    let path: String

    init() throws {
        var template = Array("/tmp/quiesce-files-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ relative: String, _ text: String, mode: Int = 0o644) throws {
        let file = path + "/" + relative
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
    }

    func read(_ relative: String) throws -> String {
        try String(contentsOfFile: path + "/" + relative, encoding: .utf8)
    }

    func attributes(_ relative: String) throws -> [FileAttributeKey: Any] {
        try FileManager.default.attributesOfItem(atPath: path + "/" + relative)
    }
}

@Suite("Tree copies through descriptors")
struct TreeCopyTests {
    @Test("Data, modes, times, symlinks as symlinks, hard links and holes survive the copy")
    func fidelity() async throws {
        let scratch = try Scratch()
        try scratch.write("source/a/secret.txt", "only mine\n", mode: 0o600)
        try scratch.write("source/b.txt", "bee\n", mode: 0o640)
        try FileManager.default.createSymbolicLink(atPath: scratch.path + "/source/link", withDestinationPath: "/etc/passwd")
        #expect(link(scratch.path + "/source/b.txt", scratch.path + "/source/a/b-again.txt") == 0)
        let old = Date(timeIntervalSince1970: 1_000_000_000)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: scratch.path + "/source/b.txt")
        // A 64 MiB file with 4 KiB of data at its end.
        let sparse = scratch.path + "/source/sparse.bin"
        #expect(FileManager.default.createFile(atPath: sparse, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: sparse))
        try handle.seek(toOffset: 64 << 20)
        try handle.write(contentsOf: Data(repeating: 7, count: 4096))
        try handle.close()
        try FileManager.default.createDirectory(atPath: scratch.path + "/copy", withIntermediateDirectories: false)

        let summary = try await TreeCopy().copyContents(
            of: try DirectoryHandle.open(absolute: scratch.path + "/source"),
            into: try DirectoryHandle.open(absolute: scratch.path + "/copy")
        )
        #expect(summary.entries == 6)
        #expect(try scratch.read("copy/a/secret.txt") == "only mine\n")
        #expect(try scratch.attributes("copy/a/secret.txt")[.posixPermissions] as? Int == 0o600)
        #expect(try scratch.attributes("copy/b.txt")[.posixPermissions] as? Int == 0o640)
        #expect(try scratch.attributes("copy/b.txt")[.modificationDate] as? Date == old)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: scratch.path + "/copy/link") == "/etc/passwd")
        #expect(try scratch.attributes("copy/b.txt")[.systemFileNumber] as? Int == (try scratch.attributes("copy/a/b-again.txt")[.systemFileNumber] as? Int))
        var status = stat()
        #expect(stat(scratch.path + "/copy/sparse.bin", &status) == 0)
        #expect(status.st_size == (64 << 20) + 4096)
        #expect(status.st_blocks * 512 < 1 << 20, "the hole was filled: \(status.st_blocks) blocks")
    }

    @Test("A path with a symlink in it is refused, and a name that is a symlink is never opened through")
    func noSymlinks() throws {
        let scratch = try Scratch()
        try scratch.write("real/file.txt", "x\n")
        try FileManager.default.createSymbolicLink(atPath: scratch.path + "/alias", withDestinationPath: scratch.path + "/real")
        #expect(throws: FileError.self) { try DirectoryHandle.open(absolute: scratch.path + "/alias") }
        do {
            _ = try DirectoryHandle.open(absolute: scratch.path + "/alias")
        } catch let error as FileError {
            #expect(error.description.contains("a path component is a symlink"))
        }
        let root = try DirectoryHandle.open(absolute: scratch.path)
        #expect(throws: FileError.self) { try root.openDirectory(FileName("alias")!) }
        #expect(RelativePath("../etc") == nil)
        #expect(RelativePath("/etc") == nil)
        #expect(RelativePath("a//b") == nil)
        #expect(RelativePath("a/b")?.elements.count == 2)
        // A `/` before a combining mark separates elements, as for the kernel.
        #expect(RelativePath("a/\u{301}b")?.elements.map(\.bytes) == [[0x61], [0xCC, 0x81, 0x62]])
        #expect(RelativePath("a/../\u{301}b") == nil)
    }

    @Test("Removing a tree removes a symlink in it, not what it points to")
    func removal() throws {
        let scratch = try Scratch()
        try scratch.write("keep/precious.txt", "keep me\n")
        try scratch.write("doomed/file.txt", "bye\n")
        try FileManager.default.createSymbolicLink(atPath: scratch.path + "/doomed/link", withDestinationPath: scratch.path + "/keep")
        try DirectoryHandle.open(absolute: scratch.path).removeTree(FileName("doomed")!)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/doomed"))
        #expect(try scratch.read("keep/precious.txt") == "keep me\n")
    }
}
