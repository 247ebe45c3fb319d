import Glibc
import Quiesce
import QuiesceFiles

/// Snapshots made by an administrator's command (`SnapshotCommand`), in two kinds:
///
/// - `freeze`: each filesystem is frozen (FIFREEZE) by the `quiesce-freeze` helper while the
///   command snapshots its device (LVM `lvcreate -s`, a cloud disk snapshot, a SAN API), then
///   thawed; the helper thaws on its own when its lease (the write-hold limit, or the writers'
///   shortest freeze lease) runs out or quiesced goes away.
/// - `command`: the command alone, for storage whose snapshots are atomic by themselves (ZFS,
///   LVM thin snapshots).
///
/// Each volume is read at its place inside the snapshot of its filesystem.
public struct CommandProvider: SnapshotProvider {
    /// Whether the provider freezes the filesystems around the command.
    public enum Kind: String, Sendable {
        case freeze
        case command
    }

    /// `freeze` or `command`.
    public let kind: Kind
    /// The administrator's command; `nil` when none is configured.
    public let command: SnapshotCommand?
    /// The `quiesce-freeze` helper.
    public let helper: String

    /// Creates the provider.
    public init(_ kind: Kind, command: SnapshotCommand?, helper: String = SnapshotCommand.defaultHelper) {
        self.kind = kind
        self.command = command
        self.helper = helper
    }

    public var name: String { kind.rawValue }

    /// freeze: every filesystem is frozen while the command snapshots them all; command: the
    /// command's snapshots are atomic by themselves, one volume at a time.
    public var instant: SnapshotInstant { kind == .freeze ? .acrossVolumes : .perVolume }

    public var summary: String {
        switch kind {
        case .freeze: "FIFREEZE on each filesystem around the device-snapshot command \(command?.arguments.joined(separator: " ") ?? "")"
        case .command: "the snapshot command \(command?.arguments.joined(separator: " ") ?? "") (ZFS, LVM thin: atomic by themselves)"
        }
    }

    public var unavailableReason: String? {
        guard command != nil else {
            return kind == .freeze
                ? "no device-snapshot command is configured (freeze-command in quiesced.json, or --freeze-command)"
                : "no snapshot command is configured (snapshot-command in quiesced.json, or --snapshot-command)"
        }
        guard access(helper, X_OK) == 0 else { return "the helper \(helper) is missing" }
        if kind == .freeze, geteuid() != 0 { return "freezing a filesystem needs root" }
        return nil
    }

    /// Filesystems FIFREEZE works on.
    static let freezable: Set<String> = ["ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "reiserfs", "nilfs2", "gfs2", "ocfs2"]

    public func refusal(for volume: VolumeInfo, requested: Bool) async -> String? {
        if kind == .freeze, !Self.freezable.contains(volume.filesystem) { return "\(volume.filesystem) cannot be frozen" }
        return nil
    }

    public func createSnapshots(_ request: SnapshotRequest) async throws -> [String: String] {
        guard let command else { throw FileError("snapshot", request.setId, reason: unavailableReason ?? "") }
        try await request.record(try JSONCoding.encode(Made(setId: request.setId, volumes: request.volumes)))
        let mounts = Array(Set(request.volumes.map(\.mountPoint))).sorted()
        request.progress(kind == .freeze ? "freezing \(mounts.joined(separator: ", ")) while \(command.arguments[0]) snapshots them" : "running \(command.arguments[0])")
        let started = ContinuousClock.now
        let made = try await command.create(
            setId: request.setId, volumes: request.volumes, freezing: kind == .freeze ? mounts : [], lease: request.holdLimit, helper: helper
        )
        request.progress("\(command.arguments[0]) made \(made.count) snapshot(s) in \(ContinuousClock.now - started)")
        var snapshots: [String: String] = [:]
        for volume in request.volumes {
            guard let place = made[volume.mountPoint], PathRules.isAbsoluteNormalized(place) else {
                throw FileError("use the output of", command.arguments[0], reason: "it gave no absolute directory for \(volume.mountPoint)")
            }
            let path = volume.pathInMount.isEmpty ? place : place + "/" + volume.pathInMount
            do {
                _ = try DirectoryHandle.open(absolute: path)
            } catch {
                throw FileError("read the snapshot of", volume.path, reason: "\(path), where \(command.arguments[0]) put it, cannot be opened: \(error)")
            }
            snapshots[volume.path] = path
        }
        return snapshots
    }

    public func delete(_ item: String) async throws {
        guard let command else { return }
        let made = try JSONCoding.decode(Made.self, from: item)
        try await command.delete(setId: made.setId, volumes: made.volumes, timeout: .seconds(120), helper: helper)
    }

    /// What the ledger keeps: enough for `delete`.
    struct Made: Codable {
        var setId: String
        var volumes: [VolumeInfo]
    }
}
