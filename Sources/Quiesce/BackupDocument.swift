#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Whether a component's data in a backup is consistent for its application.
public enum Consistency: String, Codable, Sendable {
    /// The writer quiesced the data for the snapshot.
    case applicationConsistent = "application-consistent"
    /// The writer failed or was not asked; the data is as after a power cut.
    case crashConsistent = "crash-consistent"
}

/// How a backup ended.
public enum BackupOutcome: String, Codable, Sendable {
    /// Every selected component is application-consistent.
    case succeeded
    /// The backup was made, but some components are only crash-consistent.
    case partial
    /// No usable backup was made.
    case failed
}

/// One volume of a snapshot set.
public struct VolumeSnapshot: Codable, Sendable, Hashable {
    /// The volume (absolute directory path).
    public var volume: String
    /// Where the provider put the snapshot of the volume.
    public var snapshotPath: String
    /// Where the requester copied the data, relative to the backup document (empty until copied).
    public var dataPath: String
    /// The provider that made the volume's snapshot.
    public var provider: String?
    /// What the volume lives on, as the coordinator resolved it.
    public var info: VolumeInfo?

    /// Creates a volume record.
    public init(volume: String, snapshotPath: String, dataPath: String = "", provider: String? = nil, info: VolumeInfo? = nil) {
        self.volume = volume
        self.snapshotPath = snapshotPath
        self.dataPath = dataPath
        self.provider = provider
        self.info = info
    }
}

/// The snapshot set a backup was taken from.
public struct SnapshotSet: Codable, Sendable, Hashable {
    /// The set's id.
    public var id: String
    /// The providers that made it (`btrfs`, or `btrfs+copy` when they were mixed).
    public var provider: String
    /// When the snapshot was taken.
    public var createdAt: Date
    /// The volumes in the set.
    public var volumes: [VolumeSnapshot]

    /// Creates a snapshot set record.
    public init(id: String, provider: String, createdAt: Date, volumes: [VolumeSnapshot]) {
        self.id = id
        self.provider = provider
        self.createdAt = createdAt
        self.volumes = volumes
    }
}

/// A selected component and how consistent its data is.
public struct ComponentRecord: Codable, Sendable, Hashable {
    /// The component's full path.
    public var fullPath: String
    /// Whether the data is application- or crash-consistent.
    public var consistency: Consistency
    /// The writer's private data for this component, handed back at restore.
    public var backupMetadata: String?
    /// The data the writer wants back at restore.
    public var restoreMetadata: String?

    /// Creates a component record.
    public init(fullPath: String, consistency: Consistency, backupMetadata: String? = nil, restoreMetadata: String? = nil) {
        self.fullPath = fullPath
        self.consistency = consistency
        self.backupMetadata = backupMetadata
        self.restoreMetadata = restoreMetadata
    }
}

/// One writer in a backup: its metadata, its status and its selected components.
public struct WriterRecord: Codable, Sendable, Hashable {
    /// What the writer said in Identify.
    public var metadata: WriterMetadata
    /// The writer's status at the end of the session.
    public var status: WriterStatus
    /// The writer's selected components.
    public var components: [ComponentRecord]

    /// Creates a writer record.
    public init(metadata: WriterMetadata, status: WriterStatus, components: [ComponentRecord]) {
        self.metadata = metadata
        self.status = status
        self.components = components
    }
}

/// The backup document: everything needed to understand and restore a backup,
/// stored beside the copied data.
public struct BackupDocument: Codable, Sendable, Hashable {
    /// The document format's version.
    public var formatVersion: Int
    /// The id of the session that made the backup.
    public var sessionId: String
    /// The kind of backup.
    public var backupType: BackupType
    /// How the backup ended.
    public var outcome: BackupOutcome
    /// The writers that took part.
    public var writers: [WriterRecord]
    /// The snapshot set, absent when none was made.
    public var snapshotSet: SnapshotSet?

    /// Creates a backup document.
    public init(
        sessionId: String,
        backupType: BackupType,
        outcome: BackupOutcome,
        writers: [WriterRecord],
        snapshotSet: SnapshotSet?
    ) {
        self.formatVersion = 1
        self.sessionId = sessionId
        self.backupType = backupType
        self.outcome = outcome
        self.writers = writers
        self.snapshotSet = snapshotSet
    }
}
