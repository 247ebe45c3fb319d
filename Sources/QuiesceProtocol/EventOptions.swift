import Quiesce
import QuiesceBus

/// The options dictionary (`a{sv}`) the coordinator sends with a writer event, checked.
public struct EventOptions: Sendable, Hashable {
    /// The kind of backup.
    public var backupType: BackupType?
    /// Full paths of the writer's selected components.
    public var components: [String]?
    /// The snapshot set being created.
    public var snapshotSetId: String?
    /// The volumes of the snapshot set.
    public var volumes: [String]?
    /// Freeze only: the lease after which the writer thaws itself.
    public var lease: Duration?
    /// BackupComplete and PostRestore: whether the requester's copy succeeded.
    public var succeeded: Bool?
    /// Restore events: backup metadata per component.
    public var backupMetadata: [String: String]?
    /// Restore events: restore metadata per component.
    public var restoreMetadata: [String: String]?
    /// Restore events: where the files go.
    public var restoreTarget: RestoreTarget?
    /// Restore events to an alternate location: per volume, where it is restored.
    public var alternateLocations: [String: String]?

    /// Creates options.
    public init(
        backupType: BackupType? = nil,
        components: [String]? = nil,
        snapshotSetId: String? = nil,
        volumes: [String]? = nil,
        lease: Duration? = nil,
        succeeded: Bool? = nil,
        backupMetadata: [String: String]? = nil,
        restoreMetadata: [String: String]? = nil,
        restoreTarget: RestoreTarget? = nil,
        alternateLocations: [String: String]? = nil
    ) {
        self.backupType = backupType
        self.components = components
        self.snapshotSetId = snapshotSetId
        self.volumes = volumes
        self.lease = lease
        self.succeeded = succeeded
        self.backupMetadata = backupMetadata
        self.restoreMetadata = restoreMetadata
        self.restoreTarget = restoreTarget
        self.alternateLocations = alternateLocations
    }

    /// The dictionary sent on the bus.
    public var busValue: BusValue {
        var values: [String: BusValue] = [:]
        if let backupType { values[EventOptionKey.backupType] = .string(backupType.rawValue) }
        if let components { values[EventOptionKey.components] = .strings(components) }
        if let snapshotSetId { values[EventOptionKey.snapshotSetId] = .string(snapshotSetId) }
        if let volumes { values[EventOptionKey.volumes] = .strings(volumes) }
        if let lease { values[EventOptionKey.leaseMilliseconds] = .uint32(UInt32(clamping: lease.wholeMilliseconds)) }
        if let succeeded { values[EventOptionKey.succeeded] = .bool(succeeded) }
        if let backupMetadata { values[EventOptionKey.backupMetadata] = .stringDictionary(backupMetadata) }
        if let restoreMetadata { values[EventOptionKey.restoreMetadata] = .stringDictionary(restoreMetadata) }
        if let restoreTarget { values[EventOptionKey.restoreTarget] = .string(restoreTarget.rawValue) }
        if let alternateLocations { values[EventOptionKey.alternateLocations] = .stringDictionary(alternateLocations) }
        return .vardict(values)
    }

    /// Parses and checks the dictionary of an `event`; throws `org.quiesce.Error.InvalidArgument`.
    public init(parsing value: BusValue, for event: WriterEvent) throws {
        guard let options = value.stringKeyedDictionary else { throw Self.invalid("options must be a{sv}") }
        for (key, value) in options {
            switch key {
            case EventOptionKey.backupType:
                guard let type = value.stringValue.flatMap(BackupType.init(rawValue:)) else {
                    throw Self.invalid("\(key) must be one of \(BackupType.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                backupType = type
            case EventOptionKey.components:
                guard let list = value.stringArray, list.count <= 4096, list.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 1024 }) else {
                    throw Self.invalid("\(key) must be as of at most 4096 component paths")
                }
                components = list
            case EventOptionKey.snapshotSetId:
                guard let id = value.stringValue, Identifiers.isValid(id) else { throw Self.invalid("\(key) must be an id") }
                snapshotSetId = id
            case EventOptionKey.volumes:
                guard let list = value.stringArray, list.count <= 64, list.allSatisfy(PathRules.isAbsoluteNormalized) else {
                    throw Self.invalid("\(key) must be at most 64 absolute normalized paths")
                }
                volumes = list
            case EventOptionKey.leaseMilliseconds:
                guard case .uint32(let milliseconds) = value, milliseconds > 0, event == .freeze else {
                    throw Self.invalid("\(key) must be a positive u, sent with Freeze only")
                }
                lease = .milliseconds(milliseconds)
            case EventOptionKey.succeeded:
                guard let flag = value.boolValue else { throw Self.invalid("\(key) must be b") }
                succeeded = flag
            case EventOptionKey.backupMetadata, EventOptionKey.restoreMetadata:
                guard let entries = value.stringKeyedDictionary, entries.count <= 4096 else { throw Self.invalid("\(key) must be a{ss}") }
                var metadata: [String: String] = [:]
                for (component, text) in entries {
                    guard let text = text.stringValue, text.utf8.count <= 1 << 20 else { throw Self.invalid("\(key) must be a{ss} of at most 1 MiB each") }
                    metadata[component] = text
                }
                if key == EventOptionKey.backupMetadata { backupMetadata = metadata } else { restoreMetadata = metadata }
            case EventOptionKey.restoreTarget:
                guard let target = value.stringValue.flatMap(RestoreTarget.init(rawValue:)), event == .preRestore || event == .postRestore else {
                    throw Self.invalid("\(key) must be original or alternate, sent with PreRestore and PostRestore only")
                }
                restoreTarget = target
            case EventOptionKey.alternateLocations:
                guard let entries = value.stringKeyedDictionary, entries.count <= InputLimits.volumesPerSet else {
                    throw Self.invalid("\(key) must be a{ss} of at most \(InputLimits.volumesPerSet) volumes")
                }
                var locations: [String: String] = [:]
                for (volume, location) in entries {
                    guard PathRules.isAbsoluteNormalized(volume), let location = location.stringValue, PathRules.isAbsoluteNormalized(location) else {
                        throw Self.invalid("\(key) must map absolute normalized volume paths to absolute normalized paths")
                    }
                    locations[volume] = location
                }
                alternateLocations = locations
            default:
                throw Self.invalid("unknown option \(key)")
            }
        }
    }

    static func invalid(_ message: String) -> BusError {
        BusError(name: QuiesceErrorName.invalidArgument.rawValue, message: message)
    }
}
