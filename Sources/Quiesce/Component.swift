/// How a writer's data is put back on restore (VSS_RESTOREMETHOD_ENUM).
public enum RestoreMethod: String, Codable, Sendable, CaseIterable {
    case restoreIfNotThere = "restore-if-not-there"
    case restoreIfCanReplace = "restore-if-can-replace"
    case stopRestoreStart = "stop-restore-start"
    case restoreToAlternateLocation = "restore-to-alternate-location"
    case restoreStopStart = "restore-stop-start"
    case custom
}

/// What a component holds.
public enum ComponentType: String, Codable, Sendable, CaseIterable {
    /// A database: its files must be backed up and restored together.
    case database
    /// A group of files.
    case fileGroup = "file-group"
}

/// A set of files: every file under `path` whose name matches `pattern`.
public struct FileSpec: Codable, Sendable, Hashable {
    /// Absolute directory path.
    public var path: String
    /// A shell glob matched against file names (`*` for all).
    public var pattern: String
    /// Whether files in subdirectories of `path` count too.
    public var recursive: Bool

    /// Creates a file specification.
    public init(path: String, pattern: String = "*", recursive: Bool = false) {
        self.path = path
        self.pattern = pattern
        self.recursive = recursive
    }

    private enum CodingKeys: String, CodingKey { case path, pattern, recursive }

    /// Decodes a file specification: `path` is required, `pattern` defaults to `*` and
    /// `recursive` to false.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        path = try container.decode(String.self, forKey: .path)
        pattern = try container.decodeIfPresent(String.self, forKey: .pattern) ?? "*"
        recursive = try container.decodeIfPresent(Bool.self, forKey: .recursive) ?? false
    }
}

/// A unit of a writer's data that a requester can select for backup and restore.
public struct Component: Codable, Sendable, Hashable {
    /// Where the component sits in the writer's tree, e.g. `databases`; may be empty.
    public var logicalPath: String
    /// The component's name, unique below its logical path.
    public var name: String
    /// What the component holds.
    public var type: ComponentType
    /// A human-readable description.
    public var caption: String
    /// The files that make up the component.
    public var files: [FileSpec]
    /// Whether the requester may select the component on its own.
    public var selectable: Bool

    /// Creates a component.
    public init(
        logicalPath: String = "",
        name: String,
        type: ComponentType = .fileGroup,
        caption: String = "",
        files: [FileSpec],
        selectable: Bool = true
    ) {
        self.logicalPath = logicalPath
        self.name = name
        self.type = type
        self.caption = caption
        self.files = files
        self.selectable = selectable
    }

    private enum CodingKeys: String, CodingKey { case logicalPath, name, type, caption, files, selectable }

    /// Decodes a component: `name` and `files` are required; `logical-path` and `caption`
    /// default to empty, `type` to `file-group`, `selectable` to true.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        logicalPath = try container.decodeIfPresent(String.self, forKey: .logicalPath) ?? ""
        name = try container.decode(String.self, forKey: .name)
        type = try container.decodeIfPresent(ComponentType.self, forKey: .type) ?? .fileGroup
        caption = try container.decodeIfPresent(String.self, forKey: .caption) ?? ""
        files = try container.decode([FileSpec].self, forKey: .files)
        selectable = try container.decodeIfPresent(Bool.self, forKey: .selectable) ?? true
    }

    /// The component's full path: logical path and name joined by `/`.
    public var fullPath: String { logicalPath.isEmpty ? name : "\(logicalPath)/\(name)" }
}
