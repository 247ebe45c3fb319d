#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A snapshot set kept after its session closed (VSS's persistent shadow copies, as
/// `vssadmin list shadows` shows them): quiesced keeps it, across restarts, until it expires or
/// someone deletes it. `Coordinator1.ListSnapshotSets`, `quiescectl snapshot list`.
public struct KeptSnapshotSet: Codable, Sendable, Hashable {
    /// The set's id.
    public var id: String
    /// The session that made it.
    public var sessionId: String
    /// The uid that may read and delete it (besides root).
    public var ownerUid: UInt32
    /// When the snapshot was taken.
    public var created: Date
    /// When quiesced deletes it.
    public var expires: Date
    /// The backup type the writers were told (`copy` by default: nothing is truncated).
    public var backupType: BackupType
    /// Each volume with where its snapshot is read and the provider that took it.
    public var volumes: [VolumeSnapshot]
    /// Bytes of file data in the snapshots when the set was kept (as `du --apparent-size`).
    public var bytes: Int64
    /// Files in the snapshots when the set was kept.
    public var files: Int64
    /// `succeeded`: every component application-consistent; `partial`: some only
    /// crash-consistent (a writer failed or was left out).
    public var consistency: BackupOutcome
    /// By writer, each selected component's consistency.
    public var writers: [String: [String: Consistency]]

    /// Creates a record.
    public init(
        id: String, sessionId: String, ownerUid: UInt32, created: Date, expires: Date, backupType: BackupType, volumes: [VolumeSnapshot],
        bytes: Int64, files: Int64, consistency: BackupOutcome, writers: [String: [String: Consistency]]
    ) {
        self.id = id
        self.sessionId = sessionId
        self.ownerUid = ownerUid
        self.created = created
        self.expires = expires
        self.backupType = backupType
        self.volumes = volumes
        self.bytes = bytes
        self.files = files
        self.consistency = consistency
        self.writers = writers
    }

    /// The longest a set may be kept.
    public static let longestKeep: Duration = .seconds(366 * 86_400)
}
