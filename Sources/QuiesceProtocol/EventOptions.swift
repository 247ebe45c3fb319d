import Quiesce
import QuiesceBus

/// The options dictionary (`a{sv}`) the coordinator sends with a writer event: the
/// `EventOptions` key set of `org.quiesce.Writer1`.
public typealias EventOptions = Writer1.EventOptions

extension Writer1.EventOptions {
    /// Freeze only: the lease after which the writer thaws itself (`lease-ms`).
    public var lease: Duration? {
        get { leaseMs.map { .milliseconds($0) } }
        set { leaseMs = newValue.map { UInt32(clamping: $0.wholeMilliseconds) } }
    }

    /// Checks the options of `event` beyond their D-Bus types: counts, sizes and paths within
    /// limits, and each key sent with the events it belongs to; a bad value throws
    /// `InvalidArgument`. (Unknown keys were ignored when the dictionary was read: a newer
    /// coordinator may send more.)
    public func validate(for event: WriterEvent) throws(QuiesceError) {
        func invalid(_ message: String) -> QuiesceError { QuiesceError(.invalidArgument, message) }
        if let components, components.count > InputLimits.componentsPerWriter || !components.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 1024 }) {
            throw invalid("components must be at most \(InputLimits.componentsPerWriter) component paths of 1 to 1024 bytes")
        }
        if let snapshotSetId, !Identifiers.isValid(snapshotSetId) { throw invalid("snapshot-set-id must be an id") }
        if let volumes, volumes.count > InputLimits.volumesPerSet || !volumes.allSatisfy(PathRules.isAbsoluteNormalized) {
            throw invalid("volumes must be at most \(InputLimits.volumesPerSet) absolute normalized paths")
        }
        if let snapshotGroups {
            guard snapshotGroups.count <= InputLimits.volumesPerSet,
                snapshotGroups.allSatisfy({ PathRules.isAbsoluteNormalized($0.key) && !$0.value.isEmpty && $0.value.utf8.count <= 256 })
            else {
                throw invalid("snapshot-groups must map at most \(InputLimits.volumesPerSet) absolute normalized volume paths to ids of 1 to 256 bytes")
            }
        }
        if let leaseMs, leaseMs == 0 || event != .freeze { throw invalid("lease-ms must be a positive u, sent with Freeze only") }
        for (key, metadata) in [("backup-metadata", backupMetadata), ("restore-metadata", restoreMetadata)] {
            guard let metadata else { continue }
            guard metadata.count <= InputLimits.componentsPerWriter, metadata.values.allSatisfy({ $0.utf8.count <= InputLimits.componentMetadataBytes }) else {
                throw invalid("\(key) must hold at most \(InputLimits.componentsPerWriter) components of at most \(InputLimits.componentMetadataBytes) bytes each")
            }
        }
        if restoreTarget != nil, event != .preRestore, event != .postRestore {
            throw invalid("restore-target is sent with PreRestore and PostRestore only")
        }
        if let alternateLocations {
            guard alternateLocations.count <= InputLimits.volumesPerSet,
                alternateLocations.allSatisfy({ PathRules.isAbsoluteNormalized($0.key) && PathRules.isAbsoluteNormalized($0.value) })
            else {
                throw invalid("alternate-locations must map at most \(InputLimits.volumesPerSet) absolute normalized volume paths to absolute normalized paths")
            }
        }
    }
}

extension Writer1.EventMethod {
    /// The method of a writer event (every event but Identify is one).
    public init(_ event: WriterEvent) {
        self.init(rawValue: event.methodName)!
    }
}

extension WriterEvent {
    /// The event of a writer event method.
    public init(_ method: Writer1.EventMethod) {
        self.init(rawValue: method.rawValue)!
    }
}
