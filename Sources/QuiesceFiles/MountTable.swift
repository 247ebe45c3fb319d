#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Quiesce

/// One line of `/proc/self/mountinfo`: a filesystem (or part of one) mounted somewhere.
public struct Mount: Sendable, Hashable {
    /// The device number, `major:minor`.
    public var device: String
    /// The directory of the filesystem that is mounted (`/`, or a subdirectory or subvolume).
    public var root: String
    /// Where it is mounted.
    public var mountPoint: String
    /// The filesystem type.
    public var filesystem: String
    /// What is mounted (a device, or a name).
    public var source: String
    /// The filesystem's own options (`subvol=/@home,...` on btrfs).
    public var superOptions: String
}

/// The mounts this process sees, read from `/proc/self/mountinfo`, never by parsing `df`.
public struct MountTable: Sendable {
    /// The mounts, in the kernel's order (a later mount on the same point hides an earlier one).
    public var mounts: [Mount]

    /// Reads the current table.
    public static func current() throws -> MountTable {
        // /proc/self is a symlink the kernel makes to our own /proc/<pid>: safe to follow.
        let bytes = try DirectoryHandle.openFollowing("/proc/self").readFile(FileName("mountinfo")!, limit: 16 << 20)
        return MountTable(parsing: String(decoding: bytes, as: UTF8.self))
    }

    /// Parses the text of a mountinfo file; lines it cannot read are skipped.
    public init(parsing text: String) {
        mounts = text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard let dash = fields.firstIndex(of: "-"), dash >= 6, fields.count >= dash + 4 else { return nil }
            return Mount(
                device: fields[2], root: Self.unescape(fields[3]), mountPoint: Self.unescape(fields[4]),
                filesystem: fields[dash + 1], source: Self.unescape(fields[dash + 2]), superOptions: fields[dash + 3]
            )
        }
    }

    /// The mount that `path` (absolute, normalized, without symlinks) lies on: the one with the
    /// longest mount point above it (by bytes), on `device` (the device number `stat` reports
    /// for the path) if given.
    public func mount(holding path: String, device: String? = nil) -> Mount? {
        mounts.enumerated()
            .filter { (device == nil || $0.element.device == device) && PathRules.contains($0.element.mountPoint, path) }
            .max { ($0.element.mountPoint.utf8.count, $0.offset) < ($1.element.mountPoint.utf8.count, $1.offset) }?.element
    }

    /// Every mount of the filesystem on `device`.
    public func mounts(of device: String) -> [Mount] {
        mounts.filter { $0.device == device }
    }

    /// mountinfo writes space, tab, newline and backslash as `\040`, `\011`, `\012`, `\134`.
    private static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        let source = Array(field.utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "\\"), index + 4 <= source.count,
                let value = UInt8(String(decoding: source[(index + 1)..<(index + 4)], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
