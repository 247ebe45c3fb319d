import Foundation
import Quiesce
@testable import QuiesceFiles
import Testing

@Suite("Volumes resolved from the mount table")
struct VolumeResolverTests {
    /// A mount table in which the filesystem holding `path` is mounted at `/` as `type`.
    private func table(for path: String, mountedAs type: String, source: String) throws -> MountTable {
        let device = VolumeResolver.deviceNumber(try DirectoryHandle.open(absolute: path).status().device)
        return MountTable(parsing: "27 1 \(device) / / rw,relatime shared:1 - \(type) \(source) rw\n22 27 0:21 / /proc rw - proc proc rw\n")
    }

    @Test("A path resolves to its mount point, filesystem, source and device; escaped names are read back")
    func resolves() throws {
        let scratch = try Scratch()
        let volume = try VolumeResolver.resolve(scratch.path, in: try table(for: scratch.path, mountedAs: "ext4", source: "/dev/vda"))
        #expect(volume.mountPoint == "/")
        #expect(volume.filesystem == "ext4")
        #expect(volume.source == "/dev/vda")
        #expect(volume.pathInMount == String(scratch.path.dropFirst()))
        let escaped = MountTable(parsing: "40 27 8:1 / /mnt/my\\040disk rw - xfs /dev/sdb1 rw\n")
        #expect(escaped.mounts.first?.mountPoint == "/mnt/my disk")
    }

    @Test("The mount holding a path is found by bytes: '/mnt/\\u{301}x' lies on /mnt, as for the kernel")
    func mountByBytes() {
        let table = MountTable(parsing: "27 1 8:1 / / rw - ext4 /dev/sda rw\n40 27 8:1 /data /mnt rw - ext4 /dev/sda rw\n")
        #expect(table.mount(holding: "/mnt/\u{301}x", device: "8:1")?.mountPoint == "/mnt")
        #expect(table.mount(holding: "/mnt2/x", device: "8:1")?.mountPoint == "/")
    }

    @Test("Network, user-space and pseudo filesystems are refused with the reason", arguments: [
        ("nfs4", "server:/export", "network or user-space"), ("fuse.sshfs", "user@host:", "network or user-space"),
        ("cifs", "//server/share", "network or user-space"), ("proc", "proc", "pseudo filesystem proc"),
    ])
    func refusals(type: String, source: String, reason: String) throws {
        let scratch = try Scratch()
        #expect(throws: VolumeRefusal.self) { try VolumeResolver.resolve(scratch.path, in: try table(for: scratch.path, mountedAs: type, source: source)) }
        do {
            _ = try VolumeResolver.resolve(scratch.path, in: try table(for: scratch.path, mountedAs: type, source: source))
        } catch let refusal as VolumeRefusal {
            #expect(refusal.description.contains(reason), "\(refusal)")
        }
    }

    @Test("A set refuses a volume inside another and one filesystem reached through two mounts")
    func sets() {
        let a = VolumeInfo(path: "/srv", mountPoint: "/srv", filesystem: "xfs", source: "/dev/sdb", device: "8:16")
        let inner = VolumeInfo(path: "/srv/db", mountPoint: "/srv", filesystem: "xfs", source: "/dev/sdb", device: "8:16")
        let bound = VolumeInfo(path: "/mnt/srv/db", mountPoint: "/mnt/srv", filesystem: "xfs", source: "/dev/sdb", device: "8:16")
        let other = VolumeInfo(path: "/var", mountPoint: "/", filesystem: "ext4", source: "/dev/sda", device: "8:1")
        #expect(throws: VolumeRefusal.self) { try VolumeResolver.checkSet([a, inner]) }
        #expect(throws: VolumeRefusal.self) { try VolumeResolver.checkSet([inner, bound]) }
        #expect(throws: Never.self) { try VolumeResolver.checkSet([a, other]) }
        // Two directories the kernel tells apart, one String to Swift: refused, not merged.
        let composed = VolumeInfo(path: "/srv/caf\u{e9}", mountPoint: "/srv", filesystem: "xfs", source: "/dev/sdb", device: "8:16")
        let decomposed = VolumeInfo(path: "/srv/cafe\u{301}", mountPoint: "/srv", filesystem: "xfs", source: "/dev/sdb", device: "8:16")
        #expect(throws: VolumeRefusal.self) { try VolumeResolver.checkSet([composed, decomposed]) }
        #expect(throws: Never.self) { try VolumeResolver.checkSet([composed]) }
    }
}
