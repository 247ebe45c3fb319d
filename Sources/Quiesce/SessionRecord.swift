#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How one session ended, as quiesced keeps it in its history (`Coordinator1.ListHistory`,
/// `quiescectl history`): who ran it, what it was, how far it got, every writer's outcome with
/// the event it failed, each component's consistency, and how long each step took.
public struct SessionRecord: Codable, Sendable, Hashable {
    /// What a session did.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// A backup: a snapshot set was asked for (or would have been).
        case backup
        /// A restore from a backup document.
        case restore
    }

    /// The session id.
    public var id: String
    /// Backup or restore.
    public var kind: Kind
    /// The uid of the requester that created the session.
    public var ownerUid: UInt32
    /// When the session was created.
    public var started: Date
    /// When it was closed.
    public var ended: Date
    /// The phase it had reached when it was closed (`backup-complete`, `restored`, `failed`, ...).
    public var lastPhase: SessionPhase
    /// `succeeded`: every component application-consistent (or restored); `partial`: made, but
    /// some components only crash-consistent (or some writers failed the restore); `failed`:
    /// nothing usable.
    public var outcome: BackupOutcome
    /// Why the session ended: closed by its requester, its requester left the bus, idle, the
    /// coordinator stopping.
    public var endedBecause: String
    /// The last step the requester called that failed, with its error, if one did.
    public var error: String?
    /// The snapshot set's id, if one was made.
    public var snapshotSetId: String?
    /// The volumes of the set, with the provider that took each (snapshot paths left out:
    /// they are gone once the session is closed, unless the set was kept).
    public var volumes: [VolumeOutcome]
    /// Microseconds each step took (as the session's `Timings` property).
    public var timings: [String: UInt64]
    /// Every writer of the session with its final status (without its private metadata) and
    /// the consistency of each of its components.
    public var writers: [WriterOutcome]

    /// One volume of the session's snapshot set.
    public struct VolumeOutcome: Codable, Sendable, Hashable {
        /// The volume's path.
        public var volume: String
        /// The provider that took its snapshot.
        public var provider: String?

        /// Creates a volume entry.
        public init(volume: String, provider: String?) {
            self.volume = volume
            self.provider = provider
        }
    }

    /// One writer's outcome.
    public struct WriterOutcome: Codable, Sendable, Hashable {
        /// The writer's status when the session closed.
        public var status: WriterStatus
        /// By component full path, the consistency of its data (backups only).
        public var consistency: [String: Consistency]

        /// Creates a writer entry.
        public init(status: WriterStatus, consistency: [String: Consistency]) {
            self.status = status
            self.consistency = consistency
        }
    }

    /// Creates a record.
    public init(
        id: String, kind: Kind, ownerUid: UInt32, started: Date, ended: Date, lastPhase: SessionPhase, outcome: BackupOutcome,
        endedBecause: String, error: String? = nil, snapshotSetId: String? = nil, volumes: [VolumeOutcome] = [], timings: [String: UInt64] = [:],
        writers: [WriterOutcome] = []
    ) {
        self.id = id
        self.kind = kind
        self.ownerUid = ownerUid
        self.started = started
        self.ended = ended
        self.lastPhase = lastPhase
        self.outcome = outcome
        self.endedBecause = endedBecause
        self.error = error
        self.snapshotSetId = snapshotSetId
        self.volumes = volumes
        self.timings = timings
        self.writers = writers
    }

    /// The writers that failed in this session.
    public var failedWriters: [WriterStatus] {
        writers.map(\.status).filter(\.hasFailed)
    }
}
