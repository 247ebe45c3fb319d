/// What a writer says about itself in Identify: the writer metadata document
/// (`dbus/schemas/writer-metadata.schema.json`).
///
/// Decoding follows the protocol's compatibility rule: `name`, `class-id` and `instance-id`
/// are required, every other key has a default (``defaultFreezeTimeoutMilliseconds``,
/// `back-end`, `restore-if-can-replace`, no components), and unknown keys are ignored.
public struct WriterMetadata: Codable, Sendable, Hashable {
    /// The writer's name (the last element of its bus name).
    public var name: String
    /// UUID of the kind of application.
    public var classId: String
    /// UUID of this instance.
    public var instanceId: String
    /// Where the writer sits in the freeze order.
    public var applicationLevel: ApplicationLevel
    /// The longest the writer may stay frozen, in milliseconds (`freeze-timeout-ms`); the lease
    /// sent with Freeze.
    public var freezeTimeoutMilliseconds: UInt32
    /// How the writer's data is restored.
    public var restoreMethod: RestoreMethod
    /// The writer's components.
    public var components: [Component]

    /// Creates a metadata document.
    public init(
        name: String,
        classId: String,
        instanceId: String,
        applicationLevel: ApplicationLevel = .backEnd,
        freezeTimeoutMilliseconds: UInt32 = WriterMetadata.defaultFreezeTimeoutMilliseconds,
        restoreMethod: RestoreMethod = .restoreIfCanReplace,
        components: [Component] = []
    ) {
        self.name = name
        self.classId = classId
        self.instanceId = instanceId
        self.applicationLevel = applicationLevel
        self.freezeTimeoutMilliseconds = freezeTimeoutMilliseconds
        self.restoreMethod = restoreMethod
        self.components = components
    }

    /// The freeze timeout of a writer that names none: 60 s, as VSS's `dwTimeoutFreeze`.
    public static let defaultFreezeTimeoutMilliseconds: UInt32 = 60_000

    private enum CodingKeys: String, CodingKey {
        case name, classId, instanceId, applicationLevel, restoreMethod, components
        case freezeTimeoutMilliseconds = "freezeTimeoutMs"
    }

    /// Decodes a metadata document, with the defaults of the compatibility rule.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        classId = try container.decode(String.self, forKey: .classId)
        instanceId = try container.decode(String.self, forKey: .instanceId)
        applicationLevel = try container.decodeIfPresent(ApplicationLevel.self, forKey: .applicationLevel) ?? .backEnd
        freezeTimeoutMilliseconds = try container.decodeIfPresent(UInt32.self, forKey: .freezeTimeoutMilliseconds) ?? Self.defaultFreezeTimeoutMilliseconds
        restoreMethod = try container.decodeIfPresent(RestoreMethod.self, forKey: .restoreMethod) ?? .restoreIfCanReplace
        components = try container.decodeIfPresent([Component].self, forKey: .components) ?? []
    }

    /// Full paths of the components with a file on one of `volumes`: what a backup of those
    /// volumes selects when the requester selects nothing explicitly.
    public func components(onVolumes volumes: [String]) -> [String] {
        components.filter { component in
            component.files.contains { file in volumes.contains { PathRules.contains($0, file.path) } }
        }.map(\.fullPath)
    }

    /// The component with the given full path.
    public func component(_ fullPath: String) -> Component? {
        components.first { $0.fullPath == fullPath }
    }
}
