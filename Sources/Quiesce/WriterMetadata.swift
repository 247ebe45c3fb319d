/// What a writer says about itself in Identify: the writer metadata document.
public struct WriterMetadata: Codable, Sendable, Hashable {
    /// The writer's name (the last element of its bus name).
    public var name: String
    /// UUID of the kind of application.
    public var classId: String
    /// UUID of this instance.
    public var instanceId: String
    /// Where the writer sits in the freeze order.
    public var applicationLevel: ApplicationLevel
    /// The longest the writer may stay frozen, in milliseconds; the lease sent with Freeze.
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
        freezeTimeoutMilliseconds: UInt32 = 60_000,
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
